SET lock_timeout = '5s';
ALTER TABLE public.users RENAME COLUMN display_name TO full_name;
