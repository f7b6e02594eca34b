SET lock_timeout = '5s';
ALTER TABLE public.trades ALTER COLUMN quantity TYPE numeric(30, 10);
