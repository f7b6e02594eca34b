-- supadeploy: make a plain PostgreSQL database look like a fresh Supabase project's database.
--
-- Modelled on supabase/postgres `migrations/db/init-scripts` (initial schema, auth schema,
-- storage schema, post-setup) and the auth functions of supabase/auth
-- (`20240624145325_recreate_auth_functions`), without the `supabase_*_admin` roles:
-- everything here is owned by the role running the script (normally `postgres`).
--
-- Idempotent: safe to run again on the same database, and safe on a cluster where the roles
-- already exist (roles are cluster-global; they are only created or altered when missing or
-- different). Meant to run inside one transaction as a superuser.

-- ---------------------------------------------------------------------------------------------
-- Roles (cluster-global)
-- ---------------------------------------------------------------------------------------------
do $bootstrap$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  elsif exists (select 1 from pg_catalog.pg_roles where rolname = 'anon' and rolcanlogin) then
    alter role anon nologin;
  end if;

  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  elsif exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated' and rolcanlogin) then
    alter role authenticated nologin;
  end if;

  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  elsif exists (select 1 from pg_catalog.pg_roles
                where rolname = 'service_role' and (rolcanlogin or not rolbypassrls)) then
    alter role service_role nologin bypassrls;
  end if;

  -- PostgREST logs in as `authenticator` and switches to anon/authenticated/service_role.
  -- No password is set here: whoever wants to log in as it sets one.
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  elsif exists (select 1 from pg_catalog.pg_roles
                where rolname = 'authenticator' and (not rolcanlogin or rolinherit)) then
    alter role authenticator login noinherit;
  end if;
end
$bootstrap$;

do $bootstrap$
declare
  api_role text;
begin
  foreach api_role in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (
      select 1
      from pg_catalog.pg_auth_members m
      join pg_catalog.pg_roles g on g.oid = m.roleid
      join pg_catalog.pg_roles u on u.oid = m.member
      where g.rolname = api_role and u.rolname = 'authenticator'
    ) then
      execute format('grant %I to authenticator', api_role);
    end if;
  end loop;

  -- Supabase: ALTER ROLE postgres SET search_path TO "$user", public, extensions
  -- (so unqualified uuid_generate_v4() & co. resolve in migrations). Never overrides a
  -- search_path somebody already configured for the role.
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'postgres')
     and not exists (
       select 1
       from pg_catalog.pg_db_role_setting s
       join pg_catalog.pg_roles r on r.oid = s.setrole
       where r.rolname = 'postgres'
         and s.setdatabase = 0
         and exists (select 1 from unnest(s.setconfig) as c(setting) where c.setting like 'search_path=%')
     ) then
    alter role postgres set search_path to "$user", public, extensions;
  end if;
end
$bootstrap$;

-- ---------------------------------------------------------------------------------------------
-- Extensions
-- ---------------------------------------------------------------------------------------------
create schema if not exists extensions;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;

grant usage on schema extensions to postgres, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- public: API roles may use it; what the owner creates there later is granted to them or not according
-- to the grants model (supadeploy.local.default_privileges_sql, run right after this script)
-- ---------------------------------------------------------------------------------------------
grant usage on schema public to postgres, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- auth
-- ---------------------------------------------------------------------------------------------
create schema if not exists auth;

-- A subset of GoTrue's auth.users (columns that migrations, seeds and policies commonly use).
create table if not exists auth.users (
  instance_id uuid null,
  id uuid not null,
  aud varchar(255) null,
  "role" varchar(255) null,
  email varchar(255) null,
  encrypted_password varchar(255) null,
  email_confirmed_at timestamptz null,
  invited_at timestamptz null,
  confirmation_token varchar(255) null,
  confirmation_sent_at timestamptz null,
  recovery_token varchar(255) null,
  recovery_sent_at timestamptz null,
  email_change_token_new varchar(255) null,
  email_change varchar(255) null,
  email_change_sent_at timestamptz null,
  last_sign_in_at timestamptz null,
  raw_app_meta_data jsonb null,
  raw_user_meta_data jsonb null,
  is_super_admin bool null,
  created_at timestamptz null,
  updated_at timestamptz null,
  phone text null default null,
  phone_confirmed_at timestamptz null,
  phone_change text null default '',
  phone_change_token varchar(255) null default '',
  phone_change_sent_at timestamptz null,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current varchar(255) null default '',
  email_change_confirm_status smallint null default 0,
  banned_until timestamptz null,
  reauthentication_token varchar(255) null default '',
  reauthentication_sent_at timestamptz null,
  is_sso_user boolean not null default false,
  deleted_at timestamptz null,
  is_anonymous boolean not null default false,
  constraint users_pkey primary key (id),
  constraint users_phone_key unique (phone),
  constraint users_email_change_confirm_status_check
    check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2)
);
create unique index if not exists users_email_partial_key on auth.users (email) where (is_sso_user = false);
create index if not exists users_instance_id_idx on auth.users (instance_id);
create index if not exists users_instance_id_email_idx on auth.users (instance_id, lower((email)::text));
create index if not exists users_is_anonymous_idx on auth.users (is_anonymous);
comment on table auth.users is 'Auth: Stores user login data within a secure schema.';
alter table auth.users enable row level security;

-- The functions exactly as supabase/auth defines them (request.jwt.claims, falling back to the
-- older per-claim settings request.jwt.claim.sub / .role / .email).
create or replace function auth.uid()
  returns uuid
  set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.sub', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$func$ language sql stable;

create or replace function auth.role()
  returns text
  set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.role', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
$func$ language sql stable;

create or replace function auth.email()
  returns text
  set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.email', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    )::text
$func$ language sql stable;

create or replace function auth.jwt()
  returns jsonb
  set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim', true), ''),
      nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$func$ language sql stable;

comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';
comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';
comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';

-- As on Supabase: the API roles may use the schema (for the functions) but get no table access.
grant usage on schema auth to anon, authenticated, service_role;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to postgres, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- storage (a subset of storage-api's schema, so bucket inserts and policies on storage.objects work)
-- ---------------------------------------------------------------------------------------------
create schema if not exists storage;

create table if not exists storage.buckets (
  id text not null,
  name text not null,
  owner uuid null,
  created_at timestamptz null default now(),
  updated_at timestamptz null default now(),
  public boolean null default false,
  avif_autodetection boolean null default false,
  file_size_limit bigint null,
  allowed_mime_types text[] null,
  owner_id text null,
  constraint buckets_pkey primary key (id)
);
create unique index if not exists bname on storage.buckets using btree (name);

create table if not exists storage.objects (
  id uuid not null default gen_random_uuid(),
  bucket_id text null,
  name text null,
  owner uuid null,
  created_at timestamptz null default now(),
  updated_at timestamptz null default now(),
  last_accessed_at timestamptz null default now(),
  metadata jsonb null,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  version text null,
  owner_id text null,
  user_metadata jsonb null,
  constraint objects_pkey primary key (id),
  constraint "objects_bucketId_fkey" foreign key (bucket_id) references storage.buckets (id)
);
create unique index if not exists bucketid_objname on storage.objects using btree (bucket_id, name);
create index if not exists name_prefix_search on storage.objects using btree (name text_pattern_ops);

alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;

create or replace function storage.foldername(name text)
  returns text[]
  language plpgsql
as $func$
declare
  _parts text[];
begin
  select string_to_array(name, '/') into _parts;
  return _parts[1:array_length(_parts, 1) - 1];
end
$func$;

create or replace function storage.filename(name text)
  returns text
  language plpgsql
as $func$
declare
  _parts text[];
begin
  select string_to_array(name, '/') into _parts;
  return _parts[array_length(_parts, 1)];
end
$func$;

create or replace function storage.extension(name text)
  returns text
  language plpgsql
as $func$
declare
  _parts text[];
  _filename text;
begin
  select string_to_array(name, '/') into _parts;
  select _parts[array_length(_parts, 1)] into _filename;
  return reverse(split_part(reverse(_filename), '.', 1));
end
$func$;

grant usage on schema storage to postgres, anon, authenticated, service_role;
grant all on table storage.buckets, storage.objects to postgres, anon, authenticated, service_role;
grant execute on function storage.foldername(text), storage.filename(text), storage.extension(text)
  to postgres, anon, authenticated, service_role;
