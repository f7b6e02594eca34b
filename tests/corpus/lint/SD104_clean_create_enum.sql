DO $$
BEGIN
    CREATE TYPE public.job_status AS ENUM ('queued', 'done');
EXCEPTION
    WHEN duplicate_object THEN NULL;
END
$$;
