-- schemas: public,api,Sales Team,extensions_x
-- Several schemas in one run; names that need quotes (spaces, dashes, capitals, digits first, quotes,
-- backslashes, unicode, reserved words); long names that make lines wrap; same names in two schemas;
-- types from a schema that is not generated; cross-schema references.
create schema api;
create schema "Sales Team";
create schema extensions_x;
create schema hidden;
create type hidden.secret_level as enum ('low', 'high');
create type hidden.hidden_pair as (x int, y int);
create type public.level as enum ('one', 'two');
create type api.level as enum ('alpha', 'beta', 'gamma');
create type public."Weird Enum" as enum ('with space', 'it''s', 'say "hi"', 'back\slash', 'ünïcödé', '名前', '');
create type public.a_very_long_enumeration_type_name_that_goes_on_and_on_forever as enum (
  'first_extremely_long_value_of_this_enumeration', 'second_extremely_long_value_of_this_enumeration',
  'third_extremely_long_value_of_this_enumeration');
create type public.many_values as enum ('a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9', 'a10', 'a11', 'a12',
  'a13', 'a14', 'a15', 'a16', 'a17', 'a18', 'a19', 'a20');

create table public."User Accounts" (
  "ID" int primary key,
  "first name" text,
  "last-name" text not null,
  "123abc" int,
  "$dollar" text,
  "_under" text,
  "quote""d" text,
  "back\slash" text,
  "ünïcödé" text,
  "名前" text,
  "emoji😀" text,
  "select" text,
  "class" int,
  "CamelCase" bool,
  "level" public.level,
  "api_level" api.level,
  "secret" hidden.secret_level,
  "secrets" hidden.secret_level[],
  "hidden_pair" hidden.hidden_pair,
  "weird" public."Weird Enum",
  a_column_with_a_really_long_name_to_force_wrapping public.a_very_long_enumeration_type_name_that_goes_on_and_on_forever,
  another_column_with_a_really_long_name_for_arrays public.a_very_long_enumeration_type_name_that_goes_on_and_on_forever[] not null,
  many public.many_values
);
create table api.level_log (id int primary key, level api.level not null, public_level public.level,
  account_id int references public."User Accounts"("ID"));
create table api."User Accounts" (id int primary key);
create table "Sales Team"."Deals" (id int primary key, "Owner" int references "Sales Team"."Deals"(id),
  stage public.level);
create table "Sales Team".notes (id int primary key, deal_id int references "Sales Team"."Deals"(id),
  unique (deal_id));
create table extensions_x."0start" (id int);
create table public.zebra (id int);
create table public."Zebra" (id int);
create table public.apple (id int);
create table public."Äpfel" (id int);
create table public._private (id int);
create table public."a-b" (id int);
create table public.a_b (id int);
create table public.ab (id int);
create table public."AB" (id int);
create function api.accounts_in_api() returns setof public."User Accounts" language sql
  as 'select * from public."User Accounts"';
create function api.level_of(l api.level) returns api.level language sql as 'select l';
create function api.secret() returns hidden.secret_level language sql as $$select 'low'::hidden.secret_level$$;
create function api.secrets() returns setof hidden.secret_level language sql as $$select 'low'::hidden.secret_level$$;
create function api."123"() returns int language sql as 'select 1';
create function api."7"() returns int language sql as 'select 7';
create function api."Do Something!"(in "Some Arg" text) returns text language sql as 'select $1';
create function public.a_function_with_a_very_long_name_that_needs_wrapping(an_argument_with_a_long_name text,
  another_argument_with_a_long_name public.a_very_long_enumeration_type_name_that_goes_on_and_on_forever)
  returns public.a_very_long_enumeration_type_name_that_goes_on_and_on_forever[] language sql as 'select null::public.a_very_long_enumeration_type_name_that_goes_on_and_on_forever[]';
create function "Sales Team".deal_count() returns int language sql as 'select 1';
comment on schema api is 'the API';
