create or replace function public.touch() returns trigger language plpgsql as $fn$
begin new.entry := coalesce(new.entry, ''); return new; end;
$fn$;
create trigger diary_touch before insert or update on public.diary for each row execute function public.touch();
