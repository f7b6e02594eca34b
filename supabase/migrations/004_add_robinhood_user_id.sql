-- Migration: 004_add_robinhood_user_id
-- Purpose: link a user to their Robinhood account for the import job
-- Date: 2024-03-02
-- Author: integrations@example.com
-- Breaking Changes: none (nullable column)
-- Rollback:
--   DROP INDEX IF EXISTS public.users_robinhood_user_id_key;
--   ALTER TABLE public.users DROP COLUMN IF EXISTS robinhood_user_id;

-- The runbook's idempotent column pattern: safe to run twice.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1
        FROM information_schema.columns
        WHERE table_schema = 'public'
          AND table_name = 'users'
          AND column_name = 'robinhood_user_id'
    ) THEN
        ALTER TABLE public.users ADD COLUMN robinhood_user_id text;
    END IF;
END
$$;

-- supadeploy:ignore SD301 users has a few thousand rows; the index builds in milliseconds with the column
CREATE UNIQUE INDEX IF NOT EXISTS users_robinhood_user_id_key
    ON public.users (robinhood_user_id)
    WHERE robinhood_user_id IS NOT NULL;

COMMENT ON COLUMN public.users.robinhood_user_id IS 'Robinhood account id; set by the import job; NULL until linked';
