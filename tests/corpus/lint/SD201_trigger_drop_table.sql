DROP TABLE IF EXISTS public.legacy_accounts;
