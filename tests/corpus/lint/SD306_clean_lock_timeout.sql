SET lock_timeout = '5s';
ALTER TABLE public.users ADD COLUMN IF NOT EXISTS nickname text;
