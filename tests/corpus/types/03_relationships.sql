-- schemas: public,billing
-- Foreign keys: simple, composite, one-to-one (primary key and unique), self-referencing, several to one
-- table, cross-schema, on a partitioned table; relationships views inherit from the keys they expose
-- (view to table, table to view, view to view, a view on a view, a column selected twice).
create schema billing;
create table public.users (id uuid primary key, email text unique not null, org_id int, team int);
create table public.orgs (id int primary key, name text not null);
create table public.profiles (user_id uuid primary key references public.users(id), bio text);
create table public.settings (id int primary key, user_email text unique references public.users(email));
create table public.teams (org_id int, number int, name text, primary key (org_id, number));
alter table public.users add constraint users_team_fkey foreign key (org_id, team) references public.teams(org_id, number);
alter table public.users add constraint users_org_id_fkey foreign key (org_id) references public.orgs(id);
create table public.memberships (
  org_id int not null, team_number int not null, user_id uuid not null references public.users(id),
  invited_by uuid references public.users(id),
  primary key (org_id, team_number, user_id),
  constraint memberships_team foreign key (org_id, team_number) references public.teams(org_id, number)
);
create table public.pair_owner (a int, b int, primary key (a, b));
create table public.pair_child (a int, b int, foreign key (b, a) references public.pair_owner(b, a),
  unique (a, b));
create table public.tree (id int primary key, parent_id int references public.tree(id));
create table billing.invoices (id int primary key, user_id uuid not null references public.users(id),
  org_id int references public.orgs(id));
create table billing.lines (invoice_id int references billing.invoices(id), amount numeric not null);
create table public.events (id int, at date not null, user_id uuid references public.users(id))
  partition by range (at);
create table public.events_2024 partition of public.events for values from ('2024-01-01') to ('2025-01-01');

create view public.user_emails as select id, email, org_id from public.users;
create view public.user_emails_twice as select id, id as user_id, email from public.users;
create view public.profile_view as select user_id, bio from public.profiles;
create view public.profile_on_view as select user_id from public.profile_view;
create view public.member_view as select org_id, team_number, user_id from public.memberships;
create view public.team_view as select org_id, number, name from public.teams;
create materialized view public.org_names as select id, name from public.orgs;
create view billing.invoice_view as select id, user_id from billing.invoices;
