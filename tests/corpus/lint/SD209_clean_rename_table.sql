CREATE TABLE IF NOT EXISTS public.draft (id int);
ALTER TABLE public.draft RENAME TO drafts;
ALTER TABLE public.drafts ENABLE ROW LEVEL SECURITY;
