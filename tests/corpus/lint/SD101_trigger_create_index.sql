SET lock_timeout = '5s';
CREATE INDEX CONCURRENTLY users_email_idx ON public.users (email);
