-- schemas: public
-- Views that Postgres can update and views it cannot, views made writable by INSTEAD OF triggers or
-- rules, materialized views, foreign tables, computed fields on views, comments on everything.
create table public.products (id int primary key, name text not null, price numeric not null default 0,
  tags text[], meta jsonb not null default '{}');
comment on table public.products is 'What we sell';
comment on column public.products.price is 'in cents';
create view public.cheap_products as select id, name, price from public.products where price < 10;
create view public.products_with_check as select * from public.products where price > 0 with check option;
create view public.product_stats as select count(*) as n, avg(price) as mean from public.products;
create view public.partly_updatable as select id, name, price * 2 as double_price, upper(name) as shout
  from public.products;
create view public.triggered as select p.id, count(*) as n from public.products p group by p.id;
create function public.triggered_insert() returns trigger language plpgsql as 'begin return new; end';
create trigger triggered_insert instead of insert on public.triggered for each row
  execute function public.triggered_insert();
create view public.insert_only as select id, max(name) as name from public.products group by id;
create rule insert_only_insert as on insert to public.insert_only do instead
  insert into public.products (id, name) values (new.id, new.name);
create view public.update_only as select id, max(name) as name from public.products group by id;
create rule update_only_update as on update to public.update_only do instead
  update public.products set name = new.name where id = old.id;
create view public.conditional_rule as select id, max(name) as name from public.products group by id;
create rule conditional_rule_insert as on insert to public.conditional_rule where new.id > 0 do instead
  insert into public.products (id, name) values (new.id, new.name);
create view public.invoker_view with (security_invoker = on) as select id, meta from public.products;
comment on view public.invoker_view is 'runs as the caller';
create materialized view public.product_names as select id, name, meta from public.products;
create materialized view public.unpopulated as select id from public.products with no data;
create function public.price_label(public.cheap_products) returns text language sql as 'select $1.name';
create function public.label(public.product_names) returns text language sql as 'select $1.name';
create extension if not exists file_fdw with schema extensions;
create server files foreign data wrapper file_fdw;
create foreign table public.remote_things (id int not null, label text) server files
  options (filename '/dev/null', format 'csv');
create function public.remote_rows() returns setof public.remote_things language sql as 'select * from public.remote_things';
