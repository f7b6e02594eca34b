SET lock_timeout = '5s';
DO $$
BEGIN
    ALTER TABLE public.users ADD COLUMN nickname text;
END
$$;
