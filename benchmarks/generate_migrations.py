"""Write N realistic, deterministic Supabase migrations for the push benchmark.

    python benchmarks/generate_migrations.py N OUTDIR [--seed 42]

Creates ``OUTDIR/supabase/migrations/NNNN_<name>.sql`` (zero-padded, at least 4 digits) and a minimal
``OUTDIR/supabase/config.toml`` (the Supabase CLI wants one in its workdir). Each migration creates one
table with mixed columns (uuid, text, int, numeric, timestamptz, jsonb, bool), a foreign key to an earlier
table (``auth.users(id)`` for the first), an index, ``ENABLE ROW LEVEL SECURITY`` and 2-4 policies using
``(select auth.uid())``. Every 5th migration also alters an earlier table (``ADD COLUMN IF NOT EXISTS`` or a
``DO $$ ... IF NOT EXISTS ... $$`` block); every 20th adds a plpgsql function and a trigger using it.

The target database must look like a Supabase one: run ``supadeploy.local.prepare_database(url)`` on it
first (roles anon/authenticated/service_role, ``auth.users``, ``auth.uid()``).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

NOUNS = (
    "projects", "tasks", "comments", "invoices", "payments", "teams", "members", "documents",
    "attachments", "events", "tickets", "orders", "order_items", "products", "reviews", "messages",
    "channels", "notifications", "subscriptions", "webhooks", "api_keys", "audit_entries", "tags",
    "labels", "milestones", "sprints", "boards", "cards", "folders", "files",
)
STATUSES = ("draft", "active", "archived", "pending", "done")

CONFIG_TOML = 'project_id = "supadeploy-bench"\n\n[db]\nport = 54322\nmajor_version = 15\n'


def table_name(index: int) -> str:
    """Name of the table created by migration ``index`` (1-based)."""
    return f"{NOUNS[(index - 1) % len(NOUNS)]}_{index:04d}"


def _policies(rng: random.Random, table: str, has_parent: bool) -> list[str]:
    qualified = f"public.{table}"
    candidates = [
        f'create policy "{table}: owners read" on {qualified}\n'
        f"  for select to authenticated\n"
        f"  using ((select auth.uid()) = owner_id);",
        f'create policy "{table}: owners insert" on {qualified}\n'
        f"  for insert to authenticated\n"
        f"  with check ((select auth.uid()) = owner_id);",
        f'create policy "{table}: owners update" on {qualified}\n'
        f"  for update to authenticated\n"
        f"  using ((select auth.uid()) = owner_id)\n"
        f"  with check ((select auth.uid()) = owner_id and not is_archived);",
        f'create policy "{table}: owners delete" on {qualified}\n'
        f"  for delete to authenticated\n"
        f"  using ((select auth.uid()) = owner_id and status <> 'active');",
    ]
    if has_parent:
        candidates[0] = (
            f'create policy "{table}: owners read" on {qualified}\n'
            f"  for select to authenticated\n"
            f"  using ((select auth.uid()) = owner_id or is_public);"
        )
    count = rng.randint(2, 4)
    return candidates[:count]


def _alter_earlier(rng: random.Random, index: int) -> str:
    earlier = table_name(rng.randint(1, index - 1))
    if (index // 5) % 2 == 1:
        column = rng.choice(("priority int not null default 0", "notes text", "score numeric(6, 2)",
                             "archived_at timestamptz", "settings jsonb not null default '{}'::jsonb"))
        name, _, definition = column.partition(" ")
        return (f"-- Later requirement: {name} on {earlier}.\n"
                f"alter table public.{earlier}\n"
                f"  add column if not exists {name}_{index:04d} {definition};\n")
    column = f"external_ref_{index:04d}"
    return (
        f"-- Add {column} to {earlier} unless a hotfix already did (idempotent; safe to rerun).\n"
        "do $$\n"
        "begin\n"
        "  if not exists (\n"
        "    select 1 from information_schema.columns\n"
        f"    where table_schema = 'public' and table_name = '{earlier}' and column_name = '{column}'\n"
        "  ) then\n"
        f"    alter table public.{earlier} add column {column} text;\n"
        f"    create unique index {earlier}_{column}_key on public.{earlier} ({column});\n"
        "  end if;\n"
        "end\n"
        "$$;\n"
    )


def _function_and_trigger(index: int, table: str) -> str:
    function = f"public.{table}_touch"
    return (
        f"-- Keep updated_at and a revision counter current on {table}.\n"
        f"create or replace function {function}()\n"
        "returns trigger\n"
        "language plpgsql\n"
        "set search_path = ''\n"
        "as $function$\n"
        "declare\n"
        "  changed boolean;\n"
        "begin\n"
        "  changed := new is distinct from old;\n"
        "  if changed then\n"
        "    new.updated_at := now();\n"
        "    new.revision := coalesce(old.revision, 0) + 1;\n"
        "    -- a semicolon inside the body; and a 'quoted; string'\n"
        "    if new.title = '' then\n"
        "      raise exception 'title must not be empty; got %', quote_literal(new.title);\n"
        "    end if;\n"
        "  end if;\n"
        "  return new;\n"
        "end;\n"
        "$function$;\n"
        "\n"
        f"create trigger {table}_touch\n"
        f"  before update on public.{table}\n"
        f"  for each row execute function {function}();\n"
    )


def migration_sql(index: int, rng: random.Random) -> str:
    """The SQL of migration ``index`` (1-based); uses ``rng`` so the whole set is reproducible."""
    table = table_name(index)
    parent_index = rng.randint(max(1, index - 25), index - 1) if index > 1 else 0
    if parent_index:
        parent = table_name(parent_index)
        fk = (f"  parent_id uuid not null references public.{parent}(id) on delete cascade,\n")
        index_column = "parent_id"
    else:
        fk = ""
        index_column = "owner_id"
    status = rng.choice(STATUSES)
    precision = rng.choice((10, 12, 14))
    parts = [
        f"-- Migration {index}: {table.replace('_', ' ')}.\n",
        f"create table public.{table} (\n"
        "  id uuid primary key default gen_random_uuid(),\n"
        "  owner_id uuid not null references auth.users(id) on delete cascade,\n"
        f"{fk}"
        "  title text not null check (char_length(title) between 1 and 200),\n"
        "  body text,\n"
        f"  status text not null default '{status}',\n"
        "  position int not null default 0,\n"
        "  revision int not null default 0,\n"
        f"  amount numeric({precision}, 2) not null default 0,\n"
        "  metadata jsonb not null default '{}'::jsonb,\n"
        "  is_public bool not null default false,\n"
        "  is_archived bool not null default false,\n"
        "  created_at timestamptz not null default now(),\n"
        "  updated_at timestamptz not null default now()\n"
        ");\n",
        f"comment on table public.{table} is 'Rows of {table}; one per owner and item. RLS: owners only.';\n",
        f"create index {table}_{index_column}_idx on public.{table} ({index_column}, created_at desc);\n",
        f"alter table public.{table} enable row level security;\n",
        "\n".join(_policies(rng, table, has_parent=bool(parent_index))) + "\n",
        f"grant select, insert, update, delete on public.{table} to authenticated;\n",
    ]
    if index % 5 == 0 and index > 1:
        parts.append(_alter_earlier(rng, index))
    if index % 20 == 0:
        parts.append(_function_and_trigger(index, table))
    return "\n".join(parts)


def generate(count: int, outdir: Path, *, seed: int = 42) -> list[Path]:
    """Write ``count`` migrations under ``outdir/supabase/migrations``; return their paths in order."""
    rng = random.Random(seed)
    migrations_dir = outdir / "supabase" / "migrations"
    migrations_dir.mkdir(parents=True, exist_ok=True)
    for stale in migrations_dir.glob("*.sql"):
        stale.unlink()
    config = outdir / "supabase" / "config.toml"
    if not config.exists():
        config.write_text(CONFIG_TOML, encoding="utf-8")
    width = max(4, len(str(count)))
    paths = []
    for index in range(1, count + 1):
        path = migrations_dir / f"{index:0{width}d}_create_{table_name(index)}.sql"
        path.write_text(migration_sql(index, rng), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", type=int, help="number of migrations")
    parser.add_argument("outdir", type=Path, help="project directory (supabase/migrations/ is created in it)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("count must be >= 1")
    paths = generate(args.count, args.outdir, seed=args.seed)
    print(f"wrote {len(paths)} migrations to {paths[0].parent}")


if __name__ == "__main__":
    main()
