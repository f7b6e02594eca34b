"""The expected-policy manifest (``supabase/policies.toml``): written from the live database, reviewed like
code, and compared with the live database on every verify (drift). It also declares the probes.

```toml
version = 1

[tables.public.trades]
rls = true
force_rls = false

[[tables.public.trades.policies]]
name = "Users can manage own trades"
command = "ALL"
permissive = true
roles = ["authenticated"]
using = "(( SELECT auth.uid() AS uid) = user_id)"
with_check = "(( SELECT auth.uid() AS uid) = user_id)"

[[probes]]
name = "anon reads no trades"
role = "anon"
query = "select * from public.trades"
expect_rows = 0
```

Tables are sorted by schema and name, policies by name, roles alphabetically, and expressions are kept as
Postgres prints them (``pg_get_expr``), so the file diffs cleanly. The ``[[probes]]`` part is the user's:
rewriting the file keeps it as it is, comments included.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supadeploy.errors import SupadeployError
from supadeploy.rls.catalog import Catalog, Relation
from supadeploy.rls.findings import Finding

MANIFEST_VERSION = 1
DEFAULT_MANIFEST = Path("supabase") / "policies.toml"
POLICY_COMMANDS = ("ALL", "SELECT", "INSERT", "UPDATE", "DELETE")
PROBES_MARKER = "# --- probes: everything from this line on is kept when --write-manifest rewrites the file ---"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_SQLSTATE = re.compile(r"^[0-9A-Z]{5}$")
_PROBES_HEADER = re.compile(r"^\s*\[\[\s*probes\s*\]\]", re.MULTILINE)

HEADER = """\
# The Row Level Security this project expects, written by `supadeploy verify --write-manifest` from a
# database. `supadeploy verify` reports every difference with the live database (a policy missing, extra or
# changed, RLS switched off) as drift. Review changes to this file like code.
# Expressions are as Postgres prints them (pg_get_expr).
"""

PROBES_EXAMPLE = """\
# Probes run inside a transaction that is always rolled back. For example:
#
# [[probes]]
# name = "anon reads no trades"
# role = "anon"                       # or "authenticated", with claims = { sub = "<uuid>", ... }
# setup = "insert into ..."           # optional, run as the connecting user (the owner)
# query = "select * from public.trades"
# expect_rows = 0                     # or expect_error = "42501"
"""


@dataclass(frozen=True)
class ExpectedPolicy:
    name: str
    command: str
    permissive: bool
    roles: tuple[str, ...]
    using: str | None
    with_check: str | None


@dataclass(frozen=True)
class ExpectedTable:
    schema: str
    name: str
    rls: bool
    force_rls: bool
    policies: dict[str, ExpectedPolicy] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    role: str
    claims: dict[str, Any]
    query: str
    setup: str | None = None
    expect_rows: int | None = None
    expect_error: str | None = None

    @property
    def expected(self) -> str:
        if self.expect_error is not None:
            return f"error {self.expect_error}"
        return "no rows" if self.expect_rows == 0 else f"{self.expect_rows} row{'s' if self.expect_rows != 1 else ''}"


@dataclass(frozen=True)
class Manifest:
    path: Path
    tables: dict[str, ExpectedTable]
    probes: list[ProbeSpec]


# --- from the live database ----------------------------------------------------------------------------------

def in_manifest(relation: Relation, tables_with_policies: set[str]) -> bool:
    """Every table the Data API exposes, and any other table with RLS or policies (views may read it)."""
    return (relation.is_table and not relation.is_partition and not relation.extension_owned
            and (relation.exposed or relation.rls_enabled or relation.qualified_name in tables_with_policies))


def live_tables(catalog: Catalog) -> dict[str, ExpectedTable]:
    by_table = catalog.policies_by_table()
    tables: dict[str, ExpectedTable] = {}
    for relation in catalog.relations:
        if not in_manifest(relation, set(by_table)):
            continue
        policies = {
            policy.name: ExpectedPolicy(name=policy.name, command=policy.command, permissive=policy.permissive,
                                        roles=tuple(sorted(policy.roles)), using=policy.using,
                                        with_check=policy.with_check)
            for policy in by_table.get(relation.qualified_name, [])
        }
        tables[relation.qualified_name] = ExpectedTable(schema=relation.schema, name=relation.name,
                                                        rls=relation.rls_enabled, force_rls=relation.rls_forced,
                                                        policies=policies)
    return tables


# --- writing ---------------------------------------------------------------------------------------------------

def toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = re.sub(r"[\x00-\x1f\x7f]", lambda m: {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(
        m.group(), f"\\u{ord(m.group()):04x}"), escaped)
    return f'"{escaped}"'


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else toml_string(key)


def manifest_text(tables: dict[str, ExpectedTable], probes_text: str | None = None) -> str:
    lines = [HEADER, f"version = {MANIFEST_VERSION}", ""]
    for table in sorted(tables.values(), key=lambda t: (t.schema, t.name)):
        key = f"tables.{toml_key(table.schema)}.{toml_key(table.name)}"
        lines += [f"[{key}]", f"rls = {str(table.rls).lower()}", f"force_rls = {str(table.force_rls).lower()}", ""]
        for policy in sorted(table.policies.values(), key=lambda p: p.name):
            lines += [f"[[{key}.policies]]", f"name = {toml_string(policy.name)}",
                      f"command = {toml_string(policy.command)}", f"permissive = {str(policy.permissive).lower()}",
                      f"roles = [{', '.join(toml_string(role) for role in policy.roles)}]"]
            if policy.using is not None:
                lines.append(f"using = {toml_string(policy.using)}")
            if policy.with_check is not None:
                lines.append(f"with_check = {toml_string(policy.with_check)}")
            lines.append("")
    lines.append(probes_text.rstrip("\n") + "\n" if probes_text else PROBES_MARKER + "\n" + PROBES_EXAMPLE)
    return "\n".join(lines)


def kept_probes_text(existing: str) -> str | None:
    """The user's part of an existing manifest: from the probes marker (or the first [[probes]]) to the end."""
    marker = existing.find(PROBES_MARKER)
    if marker >= 0:
        return existing[marker:]
    match = _PROBES_HEADER.search(existing)
    if match is None:
        return None
    return PROBES_MARKER + "\n" + existing[match.start():]


def write_manifest(path: Path, catalog: Catalog) -> tuple[int, int]:
    """Write the manifest of ``catalog`` to ``path`` (keeping its probes); return (tables, policies) written."""
    tables = live_tables(catalog)
    probes_text = None
    if path.exists():
        probes_text = kept_probes_text(_read(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(manifest_text(tables, probes_text), encoding="utf-8")
    except OSError as exc:
        raise SupadeployError(f"cannot write the manifest: {exc.strerror or exc}", where=str(path),
                              fix="check that the folder exists and is writable") from None
    return len(tables), sum(len(table.policies) for table in tables.values())


# --- reading ---------------------------------------------------------------------------------------------------

def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SupadeployError(f"cannot read the manifest: {getattr(exc, 'strerror', None) or exc}", where=str(path),
                              fix="check the file's permissions and that it is UTF-8") from None


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def where(self, *needles: str) -> str:
        """path:line of the first line holding every needle (best effort)."""
        for number, line in enumerate(self.lines, start=1):
            if needles and all(needle in line for needle in needles):
                return f"{self.path}:{number}"
        return str(self.path)

    def error(self, message: str, *needles: str, fix: str) -> SupadeployError:
        return SupadeployError(message, where=self.where(*needles), fix=fix)

    def key_after(self, start: int, key: str | None) -> int:
        """The 0-based line of ``key = ...`` in the block that holds line ``start`` (else ``start``)."""
        if key is None:
            return start
        for number in range(start, len(self.lines)):
            stripped = self.lines[number].strip()
            if number > start and stripped.startswith("["):
                break
            if re.match(rf"{re.escape(key)}\s*=", stripped):
                return number
        return start

    def policy_error(self, message: str, name: str, key: str | None, *, fix: str) -> SupadeployError:
        for number, line in enumerate(self.lines):
            if re.match(r"\s*name\s*=", line) and (toml_string(name) in line or f"'{name}'" in line):
                return SupadeployError(message, where=f"{self.path}:{self.key_after(number, key) + 1}", fix=fix)
        return SupadeployError(message, where=str(self.path), fix=fix)

    def probe_error(self, message: str, index: int, key: str | None, *, fix: str) -> SupadeployError:
        """path:line of ``key`` in the ``index``-th [[probes]] (1-based), else of its header."""
        headers = [number for number, line in enumerate(self.lines) if _PROBES_HEADER.match(line)]
        if index > len(headers):
            return SupadeployError(message, where=str(self.path), fix=fix)
        return SupadeployError(message, where=f"{self.path}:{self.key_after(headers[index - 1], key) + 1}", fix=fix)


def load_manifest(path: Path) -> Manifest:
    from supadeploy.rls import manifest_toml
    from supadeploy.toml_files import TOMLDecodeError, invalid_toml

    text = _read(path)
    try:
        document: dict[str, Any] = manifest_toml.loads(text)
    except TOMLDecodeError as exc:
        raise invalid_toml(path, exc) from None
    reader = _Reader(path, text)
    for key in document:
        if key not in ("version", "tables", "probes"):
            raise reader.error(f"unknown key '{key}' in the manifest", key, fix="allowed: version, tables, probes")
    version = document.get("version", MANIFEST_VERSION)
    if version != MANIFEST_VERSION:
        raise reader.error(f"manifest version {version!r} is not supported", "version",
                           fix=f"write version = {MANIFEST_VERSION} (or rewrite it with --write-manifest)")
    tables = _tables(reader, document.get("tables", {}))
    probes = _probes(reader, document.get("probes", []))
    return Manifest(path=path, tables=tables, probes=probes)


def _tables(reader: _Reader, section: Any) -> dict[str, ExpectedTable]:
    if not isinstance(section, dict):
        raise reader.error("'tables' must be a table of [tables.SCHEMA.TABLE]", "tables",
                           fix="rewrite the file with `supadeploy verify --write-manifest`")
    tables: dict[str, ExpectedTable] = {}
    for schema, by_name in section.items():
        if not isinstance(by_name, dict):
            raise reader.error(f"[tables.{schema}] must hold one table per name", schema,
                               fix="write [tables.SCHEMA.TABLE]")
        for name, entry in by_name.items():
            tables[f"{schema}.{name}"] = _table(reader, schema, name, entry)
    return tables


def _table(reader: _Reader, schema: str, name: str, entry: Any) -> ExpectedTable:
    label = f"{schema}.{name}"
    if not isinstance(entry, dict):
        raise reader.error(f"[tables.{label}] must be a table", name, fix="write rls = true / false under it")
    for key in entry:
        if key not in ("rls", "force_rls", "policies"):
            raise reader.error(f"unknown key '{key}' in [tables.{label}]", key,
                               fix="allowed: rls, force_rls, policies")
    rls = entry.get("rls", False)
    force = entry.get("force_rls", False)
    if not isinstance(rls, bool) or not isinstance(force, bool):
        raise reader.error(f"rls and force_rls of {label} must be true or false", "rls", fix="write rls = true")
    policies_list = entry.get("policies", [])
    if not isinstance(policies_list, list):
        raise reader.error(f"policies of {label} must be an array of tables", "policies",
                           fix=f"write [[tables.{label}.policies]]")
    policies: dict[str, ExpectedPolicy] = {}
    for policy_entry in policies_list:
        policy = _policy(reader, label, policy_entry)
        if policy.name in policies:
            raise reader.policy_error(f'policy "{policy.name}" of {label} appears twice', policy.name, None,
                                      fix="keep one of them")
        policies[policy.name] = policy
    return ExpectedTable(schema=schema, name=name, rls=rls, force_rls=force, policies=policies)


def _policy(reader: _Reader, label: str, entry: Any) -> ExpectedPolicy:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise reader.error(f"a policy of {label} has no name", "policies", fix='write name = "..."')
    name = entry["name"]
    for key in entry:
        if key not in ("name", "command", "permissive", "roles", "using", "with_check"):
            raise reader.policy_error(f"unknown key '{key}' in policy \"{name}\" of {label}", name, key,
                                      fix="allowed: name, command, permissive, roles, using, with_check")
    command = entry.get("command", "ALL")
    roles = entry.get("roles", ["public"])
    permissive = entry.get("permissive", True)
    if command not in POLICY_COMMANDS:
        raise reader.policy_error(f"policy \"{name}\" of {label}: command must be one of {', '.join(POLICY_COMMANDS)}",
                                  name, "command", fix='write command = "SELECT" (or ALL, INSERT, UPDATE, DELETE)')
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise reader.policy_error(f"policy \"{name}\" of {label}: roles must be a list of role names", name, "roles",
                                  fix='write roles = ["authenticated"]')
    if not isinstance(permissive, bool):
        raise reader.policy_error(f"policy \"{name}\" of {label}: permissive must be true or false", name,
                                  "permissive", fix="write permissive = true")
    using, with_check = entry.get("using"), entry.get("with_check")
    if not all(value is None or isinstance(value, str) for value in (using, with_check)):
        raise reader.policy_error(f"policy \"{name}\" of {label}: using and with_check must be strings", name,
                                  "using", fix="write the expression as Postgres prints it, in quotes")
    return ExpectedPolicy(name=name, command=command, permissive=permissive, roles=tuple(sorted(roles)),
                          using=using, with_check=with_check)


_PROBE_KEYS = ("name", "role", "claims", "setup", "query", "expect_rows", "expect_error")


def _probes(reader: _Reader, section: Any) -> list[ProbeSpec]:
    if not isinstance(section, list):
        raise reader.error("probes must be an array of tables", "probes", fix="write each probe as [[probes]]")
    probes: list[ProbeSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(section, start=1):
        probe = _probe(reader, index, entry)
        if probe.name in seen:
            raise reader.probe_error(f'two probes are named "{probe.name}"', index, "name",
                                     fix="give each probe its own name")
        seen.add(probe.name)
        probes.append(probe)
    return probes


def _probe(reader: _Reader, index: int, entry: Any) -> ProbeSpec:
    def error(message: str, key: str | None, fix: str) -> SupadeployError:
        return reader.probe_error(message, index, key, fix=fix)

    if not isinstance(entry, dict):
        raise error(f"probe #{index} must be a table", None, "write it as [[probes]]")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise error(f"probe #{index} has no name", None, 'write name = "what it checks"')
    for key in entry:
        if key not in _PROBE_KEYS:
            raise error(f"unknown key '{key}' in probe \"{name}\"", key, f"allowed: {', '.join(_PROBE_KEYS)}")
    claims = entry.get("claims", {})
    if not isinstance(claims, dict):
        raise error(f'claims of probe "{name}" must be a table', "claims",
                    'write claims = { sub = "<uuid>", role = "authenticated" }')
    role = entry.get("role", claims.get("role", "anon"))
    if not isinstance(role, str) or not role:
        raise error(f'role of probe "{name}" must be a role name', "role", 'write role = "anon"')
    claims = {**claims}
    claims.setdefault("role", role)
    try:
        json.dumps(claims)
    except (TypeError, ValueError):  # dates and times have no JSON form
        raise error(f'claims of probe "{name}" must be strings, numbers, booleans, arrays or tables', "claims",
                    "write dates as strings") from None
    query, setup = entry.get("query"), entry.get("setup")
    if not isinstance(query, str) or not query.strip():
        raise error(f'probe "{name}" has no query', "query", 'write query = "select ..."')
    if setup is not None and not isinstance(setup, str):
        raise error(f'setup of probe "{name}" must be a string of SQL', "setup", 'write setup = """..."""')
    expect_rows, expect_error = entry.get("expect_rows"), entry.get("expect_error")
    if (expect_rows is None) == (expect_error is None):
        raise error(f'probe "{name}" needs exactly one expectation', "expect_rows" if expect_rows is not None
                    else None, 'write expect_rows = N (0 for "no rows") or expect_error = "42501"')
    if expect_rows is not None and (isinstance(expect_rows, bool) or not isinstance(expect_rows, int)
                                    or expect_rows < 0):
        raise error(f'expect_rows of probe "{name}" must be a whole number >= 0', "expect_rows",
                    "write expect_rows = 0 for no rows")
    if expect_error is not None and (not isinstance(expect_error, str) or not _SQLSTATE.match(expect_error)):
        raise error(f'expect_error of probe "{name}" must be a SQLSTATE of 5 characters', "expect_error",
                    'write expect_error = "42501" (insufficient privilege / RLS violation)')
    for key, text in (("query", query), ("setup", setup)):
        if text is not None and "\x00" in text:
            raise error(f'{key} of probe "{name}" contains a NUL character', key, "remove it")
    return ProbeSpec(name=name, role=role, claims=claims, query=query, setup=setup, expect_rows=expect_rows,
                     expect_error=expect_error)


# --- drift -----------------------------------------------------------------------------------------------------

def _same_expression(left: str | None, right: str | None) -> bool:
    if left is None or right is None:
        return left is right
    return " ".join(left.split()) == " ".join(right.split())


def _policy_changes(expected: ExpectedPolicy, live: ExpectedPolicy) -> list[str]:
    changes = []
    if expected.command != live.command:
        changes.append(f"command {expected.command} -> {live.command}")
    if expected.permissive != live.permissive:
        kinds = {True: "permissive", False: "restrictive"}
        changes.append(f"{kinds[expected.permissive]} -> {kinds[live.permissive]}")
    if expected.roles != live.roles:
        changes.append(f"roles {', '.join(expected.roles)} -> {', '.join(live.roles)}")
    for clause, before, after in (("USING", expected.using, live.using),
                                  ("WITH CHECK", expected.with_check, live.with_check)):
        if not _same_expression(before, after):
            changes.append(f"{clause} {before or '(none)'} -> {after or '(none)'}")
    return changes


def drift_findings(manifest: Manifest, catalog: Catalog) -> list[Finding]:
    live = live_tables(catalog)
    rewrite = "if the change is intended, run `supadeploy verify --write-manifest` and commit the diff"
    findings: list[Finding] = []

    def add(code: str, level: str, table: ExpectedTable, message: str, remediation: str,
            policy: str | None = None) -> None:
        findings.append(Finding(code=code, level=level, schema=table.schema, object=table.name, policy=policy,
                                message=message, remediation=remediation))

    for name in sorted(set(manifest.tables) | set(live)):
        expected, actual = manifest.tables.get(name), live.get(name)
        if actual is None:
            assert expected is not None
            add("manifest_table_missing", "warn", expected,
                f"{name} is in {manifest.path.name} but not in the database",
                f"remove it from {manifest.path.name}, or {rewrite}")
            continue
        if expected is None:
            add("manifest_table_unlisted", "warn", actual,
                f"{name} (RLS {'on' if actual.rls else 'off'}, {len(actual.policies)} policies) is not in "
                f"{manifest.path.name}", rewrite)
            continue
        if expected.rls != actual.rls:
            add("manifest_rls_changed", "error" if expected.rls else "warn", actual,
                f"RLS on {name} was switched {'off' if expected.rls else 'on'} (the manifest says "
                f"rls = {str(expected.rls).lower()})",
                f"ALTER TABLE {name} {'ENABLE' if expected.rls else 'DISABLE'} ROW LEVEL SECURITY; or {rewrite}")
        if expected.force_rls != actual.force_rls:
            add("manifest_rls_changed", "warn", actual,
                f"FORCE ROW LEVEL SECURITY on {name} was switched {'off' if expected.force_rls else 'on'}",
                f"ALTER TABLE {name} {'' if expected.force_rls else 'NO '}FORCE ROW LEVEL SECURITY; or {rewrite}")
        for policy_name in sorted(set(expected.policies) | set(actual.policies)):
            before, after = expected.policies.get(policy_name), actual.policies.get(policy_name)
            if after is None:
                add("manifest_policy_missing", "error", actual,
                    f'policy "{policy_name}" on {name} is in the manifest but not in the database',
                    f"recreate it with a migration, or {rewrite}", policy=policy_name)
            elif before is None:
                add("manifest_policy_extra", "error", actual,
                    f'policy "{policy_name}" on {name} ({after.command} to {", ".join(after.roles)}) is in the '
                    "database but not in the manifest",
                    f"drop it if nobody meant to add it, or {rewrite}", policy=policy_name)
            else:
                changes = _policy_changes(before, after)
                if changes:
                    add("manifest_policy_changed", "error", actual,
                        f'policy "{policy_name}" on {name} changed: {"; ".join(changes)}',
                        f"restore it with a migration, or {rewrite}", policy=policy_name)
    return findings
