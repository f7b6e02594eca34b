"""A schema fingerprint: every object of some schemas, each with a normalized definition, read from the
catalog through ``target.query`` (so it works over any Target: a direct connection or the Management API).

What is compared, per schema (objects that belong to an extension are left out; the extension itself is
one object):

========== ==================================== ================================================================
kind       name                                 definition
========== ==================================== ================================================================
schema     ``schema``                           (exists)
table      ``schema.table``                     kind (table / partitioned), persistence, RLS enabled, RLS forced
column     ``schema.table.column``              type, NOT NULL, default, identity, generated expression, collation
constraint ``schema.table.constraint``          ``pg_get_constraintdef`` (NOT VALID included)
index      ``schema.index``                     ``pg_get_indexdef``
policy     ``schema.table.policy``              command, permissive/restrictive, roles (sorted), USING, WITH CHECK
function   ``schema.name(argument types)``      ``pg_get_functiondef`` (aggregates: their signature)
view       ``schema.view``                      kind (view / materialized), options, ``pg_get_viewdef``
trigger    ``schema.table.trigger``             ``pg_get_triggerdef``, enabled state
enum       ``schema.type``                      labels in order
domain     ``schema.type``                      base type, NOT NULL, default, constraints
sequence   ``schema.sequence``                  type, start, increment, bounds, cycle (never the current value)
extension  ``name``                             schema and version
========== ==================================== ================================================================

Column order, owners, grants, comments and statistics are not compared. Two databases whose migrations
produced the same schema have equal fingerprints; :func:`diff_fingerprints` lists what differs, object by
object, for ``supadeploy check`` (rollback round trips), ``supadeploy baseline`` and environment diffs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# Schemas Postgres and Supabase manage themselves: not part of an application's fingerprint by default.
SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
SUPABASE_MANAGED_SCHEMAS = frozenset({
    "auth", "storage", "extensions", "graphql", "graphql_public", "realtime", "_realtime", "vault", "pgsodium",
    "pgsodium_masks", "supabase_functions", "supabase_migrations", "net", "cron", "pgbouncer", "_analytics",
    "pgtle", "_supavisor", "topology", "tiger", "tiger_data",
})


class QueryTarget(Protocol):
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


@dataclass(frozen=True)
class Fingerprint:
    schemas: tuple[str, ...]
    objects: Mapping[tuple[str, str], str]
    """(kind, name) → normalized definition."""

    @property
    def digest(self) -> str:
        """A SHA-256 over every object, stable across runs and servers of the same major version."""
        hasher = hashlib.sha256()
        for (kind, name), definition in sorted(self.objects.items()):
            hasher.update(f"{kind}\0{name}\0{definition}\0".encode())
        return hasher.hexdigest()

    def __len__(self) -> int:
        return len(self.objects)


@dataclass(frozen=True)
class FingerprintDifference:
    kind: str
    name: str
    change: str
    """``added`` (only in the second fingerprint), ``removed`` (only in the first) or ``changed``."""
    before: str | None
    after: str | None

    def describe(self) -> str:
        if self.change == "changed":
            return f"{self.kind} {self.name} changed: {self.before!r} -> {self.after!r}"
        return f"{self.kind} {self.name} {self.change}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "change": self.change, "before": self.before,
                "after": self.after}


def diff_fingerprints(before: Fingerprint, after: Fingerprint) -> list[FingerprintDifference]:
    """What changed from ``before`` to ``after``, sorted by kind and name (empty when they are equal)."""
    differences = []
    for key in sorted(set(before.objects) | set(after.objects)):
        old, new = before.objects.get(key), after.objects.get(key)
        if old == new:
            continue
        change = "added" if old is None else "removed" if new is None else "changed"
        differences.append(FingerprintDifference(kind=key[0], name=key[1], change=change, before=old, after=new))
    return differences


def application_schemas(target: QueryTarget) -> list[str]:
    """The schemas of a database that are neither Postgres' nor managed by Supabase."""
    rows = target.query("SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_(toast|temp)' ORDER BY 1")
    return [str(name) for (name,) in rows if name not in SYSTEM_SCHEMAS | SUPABASE_MANAGED_SCHEMAS]


def schema_fingerprint(target: QueryTarget, schemas: Iterable[str]) -> Fingerprint:
    """Fingerprint every object of ``schemas`` in the database behind ``target`` (read-only queries)."""
    chosen = tuple(sorted(set(schemas)))
    objects: dict[tuple[str, str], str] = {}
    if not chosen:
        return Fingerprint(schemas=chosen, objects=objects)
    literal = _text_array(chosen)
    for kind, query in _QUERIES:
        for name, definition in target.query(query.replace("{schemas}", literal)):
            objects[(kind, str(name))] = "" if definition is None else str(definition)
    return Fingerprint(schemas=chosen, objects=objects)


def _text_array(values: Sequence[str]) -> str:
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"ARRAY[{quoted}]::text[]"


_NOT_EXTENSION_MEMBER = (
    "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass AND d.objid = {oid} "
    "AND d.deptype = 'e')"
)


def _not_member(catalog: str, oid: str) -> str:
    return _NOT_EXTENSION_MEMBER.format(catalog=catalog, oid=oid)


_QUERIES: tuple[tuple[str, str], ...] = (
    ("schema", "SELECT nspname, NULL FROM pg_namespace WHERE nspname = ANY({schemas})"),
    ("table", f"""
SELECT n.nspname || '.' || c.relname,
       concat_ws(' ', CASE c.relkind WHEN 'p' THEN 'partitioned' ELSE 'table' END,
                 CASE c.relpersistence WHEN 'u' THEN 'unlogged' END,
                 'rls=' || CASE WHEN c.relrowsecurity THEN 'on' ELSE 'off' END,
                 'force_rls=' || CASE WHEN c.relforcerowsecurity THEN 'on' ELSE 'off' END,
                 CASE WHEN c.relispartition THEN 'partition of ' || (
                   SELECT pn.nspname || '.' || pc.relname FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                   JOIN pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = c.oid LIMIT 1)
                   || ' ' || pg_get_expr(c.relpartbound, c.oid) END)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY({{schemas}}) AND {_not_member('pg_class', 'c.oid')}
"""),
    ("column", f"""
SELECT n.nspname || '.' || c.relname || '.' || a.attname,
       concat_ws(' ', format_type(a.atttypid, a.atttypmod),
                 CASE WHEN a.attnotnull THEN 'not null' END,
                 CASE WHEN a.attgenerated = 's' THEN 'generated always as ' || pg_get_expr(ad.adbin, ad.adrelid)
                      WHEN ad.adbin IS NOT NULL THEN 'default ' || pg_get_expr(ad.adbin, ad.adrelid) END,
                 CASE a.attidentity WHEN 'a' THEN 'generated always as identity'
                                    WHEN 'd' THEN 'generated by default as identity' END,
                 CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                      THEN 'collate ' || (SELECT collname FROM pg_collation WHERE oid = a.attcollation) END)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND n.nspname = ANY({{schemas}})
  AND {_not_member('pg_class', 'c.oid')}
"""),
    ("constraint", f"""
SELECT n.nspname || '.' || c.relname || '.' || con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY({{schemas}}) AND {_not_member('pg_class', 'c.oid')}
"""),
    ("index", f"""
SELECT n.nspname || '.' || ic.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE n.nspname = ANY({{schemas}}) AND {_not_member('pg_class', 'i.indrelid')}
"""),
    ("policy", """
SELECT p.schemaname || '.' || p.tablename || '.' || p.policyname,
       concat_ws(' ', 'for ' || p.cmd, p.permissive,
                 'to ' || (SELECT string_agg(r, ',' ORDER BY r) FROM unnest(p.roles) AS r),
                 'using (' || p.qual || ')', 'with check (' || p.with_check || ')')
FROM pg_policies p WHERE p.schemaname = ANY({schemas})
"""),
    ("function", f"""
SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       CASE WHEN p.prokind = 'a' THEN 'aggregate ' || pg_get_function_result(p.oid) ELSE pg_get_functiondef(p.oid) END
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY({{schemas}}) AND {_not_member('pg_proc', 'p.oid')}
"""),
    ("view", f"""
SELECT n.nspname || '.' || c.relname,
       concat_ws(' ', CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END,
                 'with (' || array_to_string(c.reloptions, ', ') || ')', 'as ' || pg_get_viewdef(c.oid))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY({{schemas}}) AND {_not_member('pg_class', 'c.oid')}
"""),
    ("trigger", f"""
SELECT n.nspname || '.' || c.relname || '.' || t.tgname,
       pg_get_triggerdef(t.oid) || CASE t.tgenabled WHEN 'D' THEN ' (disabled)' WHEN 'R' THEN ' (replica)'
                                                    WHEN 'A' THEN ' (always)' ELSE '' END
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND n.nspname = ANY({{schemas}}) AND {_not_member('pg_class', 'c.oid')}
"""),
    ("enum", f"""
SELECT n.nspname || '.' || t.typname,
       (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e
        WHERE e.enumtypid = t.oid)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND n.nspname = ANY({{schemas}}) AND {_not_member('pg_type', 't.oid')}
"""),
    ("domain", f"""
SELECT n.nspname || '.' || t.typname,
       concat_ws(' ', format_type(t.typbasetype, t.typtypmod), CASE WHEN t.typnotnull THEN 'not null' END,
                 'default ' || t.typdefault,
                 (SELECT string_agg(pg_get_constraintdef(con.oid), ' ' ORDER BY con.conname) FROM pg_constraint con
                  WHERE con.contypid = t.oid))
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'd' AND n.nspname = ANY({{schemas}}) AND {_not_member('pg_type', 't.oid')}
"""),
    ("sequence", f"""
SELECT n.nspname || '.' || c.relname,
       concat_ws(' ', format_type(s.seqtypid, NULL), 'start ' || s.seqstart, 'increment ' || s.seqincrement,
                 'min ' || s.seqmin, 'max ' || s.seqmax, 'cache ' || s.seqcache,
                 CASE WHEN s.seqcycle THEN 'cycle' END)
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY({{schemas}}) AND {_not_member('pg_class', 'c.oid')}
"""),
    ("extension", """
SELECT e.extname, n.nspname || ' ' || e.extversion
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE n.nspname = ANY({schemas})
"""),
)
