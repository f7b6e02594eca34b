TRUNCATE public.trades;
