SET lock_timeout = '5s';
ALTER TABLE public.users DROP COLUMN IF EXISTS nickname;
