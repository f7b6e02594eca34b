CREATE TABLE IF NOT EXISTS public.notes (id bigint PRIMARY KEY, owner uuid NOT NULL);
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS "own notes" ON public.notes;
CREATE POLICY "own notes" ON public.notes FOR SELECT TO authenticated USING ((SELECT auth.uid()) = owner);
