CREATE TABLE IF NOT EXISTS public.announcements (id bigint PRIMARY KEY, body text);
GRANT SELECT ON public.announcements TO anon;
ALTER TABLE public.announcements ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS "everyone reads" ON public.announcements;
CREATE POLICY "everyone reads" ON public.announcements FOR SELECT TO anon USING (true);
