CREATE SCHEMA private;
CREATE EXTENSION pg_trgm WITH SCHEMA extensions;
CREATE SEQUENCE public.invoice_numbers;
