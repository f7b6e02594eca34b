CREATE TABLE IF NOT EXISTS public.announcements (id bigint PRIMARY KEY, body text);
GRANT SELECT ON public.announcements TO anon;
