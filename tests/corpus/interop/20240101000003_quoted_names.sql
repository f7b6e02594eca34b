/* block comment; with a semicolon
   spanning lines */
create table public."Odd;Name" ("select" int, "quo""te" text default 'it''s; fine', "naïve" text);
comment on table public."Odd;Name" is 'A table; with semicolons; in its comment';
insert into public."Odd;Name" ("select", "quo""te") values (1, 'x;y'), (2, $$z;w$$);
;
;;
   ;
select 1 -- trailing comment; after the statement
;
