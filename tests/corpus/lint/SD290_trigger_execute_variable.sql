SET lock_timeout = '5s';
DO $$
DECLARE
    target text := 'trades';
BEGIN
    EXECUTE 'DROP TABLE public.' || target;
END
$$;
