create or replace function public.classify(amount numeric) returns text
language plpgsql immutable set search_path = '' as $classify$
declare
  result text := 'small;';
begin
  -- $$ inside a tagged body is just text; so is 'a quote
  if amount > 1000 then
    result := $inner$large$inner$;
  end if;
  return result;
end;
$classify$;

CREATE FUNCTION public.add_one(i int) RETURNS int LANGUAGE sql IMMUTABLE
BEGIN ATOMIC
  SELECT i + 1;
END;

create function public.two_rows() returns setof int language sql begin atomic select 1; select 2; end;
