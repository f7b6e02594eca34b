-- supadeploy:ignore SD201 replaced by public.accounts in 012
DROP TABLE IF EXISTS public.legacy_accounts;
