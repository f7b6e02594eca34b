SET lock_timeout = '5s';
DO $$
BEGIN
    EXECUTE format('COMMENT ON TABLE %I.%I IS %L', 'public', 'trades', 'one row per fill');
    EXECUTE 'SELECT 1' USING 42;
END
$$;
