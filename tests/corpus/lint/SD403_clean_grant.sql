GRANT SELECT ON TABLE public.trades TO anon;
GRANT INSERT, UPDATE ON TABLE public.trades TO authenticated;
