BEGIN;
SET LOCAL lock_timeout = '5s';
SAVEPOINT before_comment;
COMMENT ON TABLE public.trades IS 'fills';
RELEASE SAVEPOINT before_comment;
COMMIT;
