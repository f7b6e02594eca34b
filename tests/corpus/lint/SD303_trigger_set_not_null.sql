SET lock_timeout = '5s';
ALTER TABLE public.users ALTER COLUMN display_name SET NOT NULL;
