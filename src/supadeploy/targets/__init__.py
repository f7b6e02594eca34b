"""Where migrations go: a Postgres connection, the Management API, or the Supabase CLI."""
