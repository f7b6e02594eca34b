-- supadeploy:ignore SD201
DROP TABLE IF EXISTS public.legacy_accounts;
