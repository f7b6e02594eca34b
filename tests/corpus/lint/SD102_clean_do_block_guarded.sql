SET lock_timeout = '5s';
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'users' AND column_name = 'nickname'
    ) THEN
        ALTER TABLE public.users ADD COLUMN nickname text;
    END IF;
END
$$;
