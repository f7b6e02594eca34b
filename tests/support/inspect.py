"""Read back what a push left in the database."""

from __future__ import annotations

from typing import Any

import psycopg


def history_rows(url: str) -> list[tuple[str, str | None, list[str] | None]]:
    with psycopg.connect(url) as conn:
        exists = conn.execute("select to_regclass('supabase_migrations.schema_migrations') is not null").fetchone()
        if not exists or not exists[0]:
            return []
        rows = conn.execute(
            "select version, name, statements from supabase_migrations.schema_migrations order by version"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def tables(url: str, schema: str = "public") -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relkind in ('r','p','v','m') order by 1", (schema,)
        ).fetchall()
    return [r[0] for r in rows]


def scalar(url: str, query: str, params: tuple[Any, ...] = ()) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params or None).fetchone()
    return row[0] if row else None
