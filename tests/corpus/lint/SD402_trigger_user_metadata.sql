DROP POLICY IF EXISTS "admins" ON public.trades;
CREATE POLICY "admins" ON public.trades FOR ALL TO authenticated
    USING ((auth.jwt() -> 'user_metadata' ->> 'role') = 'admin');
