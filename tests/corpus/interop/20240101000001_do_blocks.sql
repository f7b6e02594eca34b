-- DO blocks, the runbook's idempotency pattern; a comment; with; semicolons
create table if not exists public.accounts (id bigint generated always as identity primary key, label text);

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = 'accounts' AND column_name = 'owner') THEN
    ALTER TABLE public.accounts ADD COLUMN owner uuid; -- added; once
  END IF;
END $$;

do language plpgsql $do$ begin raise notice 'semi;colon %', ';'; end $do$;
