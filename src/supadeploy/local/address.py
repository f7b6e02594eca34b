"""Where the local server listens and who logs in: the address and credentials of `supabase start`."""

from __future__ import annotations

DEFAULT_PORT = 54322
DEFAULT_USER = "postgres"
DEFAULT_PASSWORD = "postgres"
DEFAULT_DATABASE = "postgres"
LISTEN_ADDRESS = "127.0.0.1"
DEFAULT_URL = f"postgresql://{DEFAULT_USER}:{DEFAULT_PASSWORD}@{LISTEN_ADDRESS}:{DEFAULT_PORT}/{DEFAULT_DATABASE}"


def server_url(port: int, database: str = DEFAULT_DATABASE) -> str:
    return f"postgresql://{DEFAULT_USER}:{DEFAULT_PASSWORD}@{LISTEN_ADDRESS}:{port}/{database}"
