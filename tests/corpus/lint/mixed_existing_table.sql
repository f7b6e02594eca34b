-- A file-level sample for the squawk comparison: a real-world migration that touches existing tables.
ALTER TABLE public.users ADD COLUMN IF NOT EXISTS country text;
UPDATE public.users SET country = 'US' WHERE country IS NULL;
ALTER TABLE public.users ALTER COLUMN country SET NOT NULL;
CREATE INDEX users_country_idx ON public.users (country);
