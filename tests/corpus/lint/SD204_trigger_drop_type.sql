DROP TYPE IF EXISTS public.job_status;
