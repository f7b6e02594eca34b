ALTER TABLE public.users ADD COLUMN IF NOT EXISTS nickname text;
