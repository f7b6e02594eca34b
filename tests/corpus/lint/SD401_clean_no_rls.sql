CREATE TABLE IF NOT EXISTS public.notes (id bigint PRIMARY KEY, body text);
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
