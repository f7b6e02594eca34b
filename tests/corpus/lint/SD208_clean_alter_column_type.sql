SET lock_timeout = '5s';
ALTER TABLE public.trades ALTER COLUMN quantity SET DEFAULT 1;
