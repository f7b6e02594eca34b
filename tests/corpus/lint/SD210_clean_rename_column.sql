SET lock_timeout = '5s';
ALTER TABLE public.users RENAME CONSTRAINT users_email_key TO users_email_unique;
