CREATE TYPE public.job_status AS ENUM ('queued', 'done');
