CREATE TABLE IF NOT EXISTS public.audit_log (id bigint PRIMARY KEY, note text);
ALTER TABLE public.audit_log ENABLE ROW LEVEL SECURITY;
