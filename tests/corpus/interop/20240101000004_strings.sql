create table public.messages (id serial primary key, body text not null);
insert into public.messages (body) values ('semi;colon'), ('-- not a comment'), ('/* not a block */'),
  (E'tab\there'), (U&'caf\00E9;'), ('multi
line; string');
create index messages_body_idx on public.messages (body);	  
    	
