"""supadeploy: deploy a Supabase project's database safely."""

__version__ = "0.1.0"
