-- Migration: 003_rls_policies
-- Purpose: every user sees and changes only their own rows
-- Date: 2024-02-10
-- Author: security@example.com
-- Breaking Changes: anon can no longer read any table
-- Rollback:
--   REVOKE SELECT, INSERT, UPDATE, DELETE ON public.users, public.trades, public.portfolio_snapshots, public.positions FROM authenticated, service_role;
--   DROP POLICY IF EXISTS "Users can view own snapshots" ON public.portfolio_snapshots;
--   DROP POLICY IF EXISTS "Users can manage own trades" ON public.trades;
--   DROP POLICY IF EXISTS "Users can update own profile" ON public.users;
--   DROP POLICY IF EXISTS "Users can view own profile" ON public.users;
--   ALTER TABLE public.users DISABLE ROW LEVEL SECURITY;
--   ALTER TABLE public.trades DISABLE ROW LEVEL SECURITY;
--   ALTER TABLE public.portfolio_snapshots DISABLE ROW LEVEL SECURITY;

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.trades ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.portfolio_snapshots ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS "Users can view own profile" ON public.users;
CREATE POLICY "Users can view own profile" ON public.users
    FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) = id);

DROP POLICY IF EXISTS "Users can update own profile" ON public.users;
CREATE POLICY "Users can update own profile" ON public.users
    FOR UPDATE TO authenticated
    USING ((SELECT auth.uid()) = id)
    WITH CHECK ((SELECT auth.uid()) = id);

DROP POLICY IF EXISTS "Users can manage own trades" ON public.trades;
CREATE POLICY "Users can manage own trades" ON public.trades
    FOR ALL TO authenticated
    USING ((SELECT auth.uid()) = user_id)
    WITH CHECK ((SELECT auth.uid()) = user_id);

DROP POLICY IF EXISTS "Users can view own snapshots" ON public.portfolio_snapshots;
CREATE POLICY "Users can view own snapshots" ON public.portfolio_snapshots
    FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) = user_id);

-- The Data API roles get only what the app uses (Supabase no longer grants new tables by default); the
-- policies above decide which rows.
GRANT SELECT, UPDATE ON public.users TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.trades TO authenticated;
GRANT SELECT ON public.portfolio_snapshots, public.positions TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.users, public.trades, public.portfolio_snapshots TO service_role;
GRANT SELECT ON public.positions TO service_role;
