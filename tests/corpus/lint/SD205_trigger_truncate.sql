TRUNCATE public.trades CASCADE;
