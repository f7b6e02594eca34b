SET lock_timeout = '5s';
COMMENT ON TABLE public.trades IS 'one row per fill; don''t edit';
