-- Migration: 005_rolled_options_background_processing
-- Purpose: detect rolled option positions in a background job instead of on page load
-- Date: 2024-04-18
-- Author: platform@example.com
-- Breaking Changes: none
-- Rollback:
--   DROP VIEW IF EXISTS public.pending_rolled_option_jobs;
--   DROP FUNCTION IF EXISTS public.enqueue_rolled_options_job(uuid);
--   DROP TABLE IF EXISTS public.rolled_options_jobs;
--   DROP TYPE IF EXISTS public.job_status;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'job_status' AND typnamespace = 'public'::regnamespace) THEN
        CREATE TYPE public.job_status AS ENUM ('queued', 'running', 'succeeded', 'failed');
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS public.rolled_options_jobs (
    id uuid PRIMARY KEY DEFAULT extensions.uuid_generate_v4(),
    user_id uuid NOT NULL REFERENCES public.users (id) ON DELETE CASCADE,
    status public.job_status NOT NULL DEFAULT 'queued',
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    result jsonb,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);

CREATE INDEX IF NOT EXISTS rolled_options_jobs_queue_idx
    ON public.rolled_options_jobs (status, created_at)
    WHERE status IN ('queued', 'running');

ALTER TABLE public.rolled_options_jobs ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS "Users can view own jobs" ON public.rolled_options_jobs;
CREATE POLICY "Users can view own jobs" ON public.rolled_options_jobs
    FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) = user_id);

DROP POLICY IF EXISTS "Users can enqueue own jobs" ON public.rolled_options_jobs;
CREATE POLICY "Users can enqueue own jobs" ON public.rolled_options_jobs
    FOR INSERT TO authenticated
    WITH CHECK ((SELECT auth.uid()) = user_id);

-- Called by the app after an import; the worker (service_role) picks jobs up.
CREATE OR REPLACE FUNCTION public.enqueue_rolled_options_job(p_user_id uuid)
RETURNS uuid
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = ''
AS $body$
DECLARE
    v_job_id uuid;
BEGIN
    IF p_user_id IS DISTINCT FROM (SELECT auth.uid()) THEN
        RAISE EXCEPTION 'cannot enqueue a job for another user; got %', p_user_id
            USING ERRCODE = '42501';
    END IF;
    INSERT INTO public.rolled_options_jobs (user_id, payload)
    VALUES (p_user_id, jsonb_build_object('requested_at', now(), 'kind', 'rolled_options'))
    RETURNING id INTO v_job_id;
    RETURN v_job_id;
END;
$body$;

CREATE OR REPLACE VIEW public.pending_rolled_option_jobs
WITH (security_invoker = true) AS
SELECT id, user_id, status, attempts, created_at
FROM public.rolled_options_jobs
WHERE status IN ('queued', 'running');

-- The app enqueues and reads its own jobs; the worker (service_role) runs them.
GRANT SELECT, INSERT ON public.rolled_options_jobs TO authenticated;
GRANT SELECT ON public.pending_rolled_option_jobs TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.rolled_options_jobs TO service_role;
GRANT SELECT ON public.pending_rolled_option_jobs TO service_role;
