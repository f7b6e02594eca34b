CREATE POLICY "own rows" ON public.users FOR SELECT TO authenticated USING ((SELECT auth.uid()) = id);
