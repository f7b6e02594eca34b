SET lock_timeout = '5s';
ALTER TABLE public.users DROP CONSTRAINT IF EXISTS users_nickname_check;
