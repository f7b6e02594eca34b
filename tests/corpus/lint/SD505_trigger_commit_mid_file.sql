SET lock_timeout = '5s';
BEGIN;
COMMENT ON TABLE public.trades IS 'fills';
COMMIT;
COMMENT ON TABLE public.users IS 'people';
