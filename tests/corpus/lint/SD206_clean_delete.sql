DELETE FROM public.trades WHERE executed_at < now() - interval '7 years';
