DELETE FROM public.trades;
