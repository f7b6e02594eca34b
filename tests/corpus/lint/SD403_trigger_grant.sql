GRANT INSERT, UPDATE ON TABLE public.trades TO anon;
