-- Migration: 006_data_api_grants
-- Purpose: grant the Data API roles what the app uses; since 2026-10-30 Supabase no longer grants new tables
--          in public to anon, authenticated and service_role by default (RLS still decides which rows)
-- Date: 2026-11-20
-- Author: security@example.com
-- Breaking Changes: none (on projects prepared the old way these privileges were already granted)
-- Rollback:
--   REVOKE SELECT, UPDATE ON public.users FROM authenticated;
--   REVOKE SELECT, INSERT, UPDATE, DELETE ON public.trades FROM authenticated;
--   REVOKE SELECT ON public.portfolio_snapshots, public.positions FROM authenticated;
--   REVOKE SELECT, INSERT ON public.rolled_options_jobs FROM authenticated;
--   REVOKE SELECT ON public.pending_rolled_option_jobs FROM authenticated;

-- The signed-in user's own rows, as the policies of 003 and 005 allow.
GRANT SELECT, UPDATE ON public.users TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.trades TO authenticated;
GRANT SELECT ON public.portfolio_snapshots TO authenticated;
GRANT SELECT ON public.positions TO authenticated;
GRANT SELECT, INSERT ON public.rolled_options_jobs TO authenticated;
GRANT SELECT ON public.pending_rolled_option_jobs TO authenticated;

-- The import job and the worker (service_role bypasses RLS, but not privileges).
GRANT SELECT, INSERT, UPDATE, DELETE ON public.users, public.trades, public.portfolio_snapshots,
    public.rolled_options_jobs TO service_role;
GRANT SELECT ON public.positions, public.pending_rolled_option_jobs TO service_role;
