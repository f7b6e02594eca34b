create type public.mood as enum ('happy', 'sad;', 'ok');
create table public.diary (id uuid primary key default extensions.gen_random_uuid(), author uuid default auth.uid(),
  mood public.mood, entry text);
alter table public.diary enable row level security;
create policy "own entries; only" on public.diary for all to authenticated
  using ((select auth.uid()) = author) with check ((select auth.uid()) = author);
create view public.happy_days with (security_invoker = true) as select id, entry from public.diary where mood = 'happy';
-- a final comment with no statement after it; the CLI keeps it
