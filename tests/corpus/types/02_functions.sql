-- schemas: public
-- Functions as PostgREST exposes them: scalar returns, SETOF a table, RETURNS TABLE, overloads, no-arg,
-- default args, unnamed arguments, computed fields, OUT/INOUT/VARIADIC, composite and enum returns.
create type public.status as enum ('draft', 'published');
create type public.pair as (a int, b text);
create table public.authors (id int primary key, name text not null, bio text);
create table public.books (id int primary key, author_id int references public.authors(id), title text not null,
  status public.status not null default 'draft');
create view public.book_titles as select id, title from public.books;

create function public.add(a int, b int) returns int language sql immutable as 'select a + b';
create function public.hello() returns text language sql as $$select 'hi'$$;
create function public.nothing() returns void language sql as 'select';
create function public.now_utc() returns timestamptz language sql stable as 'select now()';
create function public.books_by(author int) returns setof public.books language sql stable
  as 'select * from public.books where author_id = author';
create function public.one_book(book_id int) returns public.books language sql stable
  as 'select * from public.books where id = book_id';
create function public.one_book_rows(book_id int) returns setof public.books language sql stable rows 1
  as 'select * from public.books where id = book_id';
create function public.titles(prefix text default '') returns table(id int, title text, status public.status)
  language sql stable as 'select id, title, status from public.books where title like prefix || ''%''';
create function public.view_rows() returns setof public.book_titles language sql as 'select * from public.book_titles';
create function public.counts(out total int, out published int) language sql
  as 'select count(*)::int, count(*)::int from public.books';
create function public.swap(inout x int, inout y int) language sql as 'select y, x';
create function public.total(variadic nums int[]) returns int language sql as 'select sum(n)::int from unnest(nums) n';
create function public.with_defaults(a int, b int default 2, c text default 'c') returns text language sql
  as 'select a::text || b::text || c';
create function public.get_pair() returns public.pair language sql as $$select 1, 'x'$$;
create function public.get_pairs() returns setof public.pair language sql as $$select 1, 'x'$$;
create function public.get_status() returns public.status language sql as $$select 'draft'::public.status$$;
create function public.get_statuses() returns public.status[] language sql as $$select array['draft'::public.status]$$;
create function public.get_record() returns record language sql as $$select 1, 'x'$$;
create function public.get_json() returns jsonb language sql as $$select '{}'::jsonb$$;
create function public.get_ints() returns setof int language sql as 'select 1';
-- overloads
create function public.over(a int) returns int language sql as 'select a';
create function public.over(a text) returns text language sql as 'select a';
create function public.over(a int, b int) returns int language sql as 'select a';
create function public.over2() returns int language sql as 'select 1';
create function public.over2(text default '') returns text language sql as 'select $1';
create function public.over3(x int) returns int language sql as 'select x';
create function public.over3(x int, y int) returns int language sql as 'select x';
-- unnamed arguments
create function public.echo_json(json) returns json language sql as 'select $1';
create function public.echo_jsonb(jsonb) returns jsonb language sql as 'select $1';
create function public.echo_text(text) returns text language sql as 'select $1';
create function public.unnamed_int(int) returns int language sql as 'select $1';
create function public.unnamed_two(text, text) returns text language sql as 'select $1';
-- computed fields and functions taking a row
create function public.full_title(public.books) returns text language sql stable as 'select $1.title';
create function public.named_title(book public.books) returns text language sql stable as 'select book.title';
create function public.author_of(public.books) returns setof public.authors rows 1 language sql stable
  as 'select * from public.authors where id = $1.author_id';
create function public.author_books(public.authors) returns setof public.books language sql stable
  as 'select * from public.books where author_id = $1.id';
create function public.row_to_pair(public.books) returns public.pair language sql as $$select 1, 'x'$$;
create function public.view_computed(public.book_titles) returns int language sql as 'select 1';
-- left out: triggers, procedures, aggregates
create function public.a_trigger() returns trigger language plpgsql as 'begin return new; end';
create procedure public.a_procedure() language sql as 'select 1';
create aggregate public.my_sum(int) (sfunc = int4pl, stype = int);
