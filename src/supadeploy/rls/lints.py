"""Catalog lints: every RLS and security problem readable from the catalog, as findings.

Each lint is a function of the :class:`Catalog` (no database access here). Codes are stable; the Supabase
splinter lint each one corresponds to is recorded on the finding and in docs/verify.md.

Scopes. *Exposed* relations are the ones of the exposed schemas that the Data API serves: a table
partition is not one (PostgREST leaves partitions out of its schema cache; they are reached through their
parent, whose RLS applies), so partitions are judged through their parent. Policy and function lints look
at every user schema (everything but the system schemas and the ones Supabase manages).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from supadeploy.rls import expressions
from supadeploy.rls.catalog import Catalog, Function, Policy, Relation
from supadeploy.rls.findings import API_ROLES, DENIED, Finding
from supadeploy.rls.matrix import table_cell

COMMAND_WORDS = {"select": "SELECT", "insert": "INSERT", "update": "UPDATE", "delete": "DELETE"}
_SIMPLE_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_$]*$")


def quote_identifier(name: str) -> str:
    return name if _SIMPLE_IDENTIFIER.match(name) else '"' + name.replace('"', '""') + '"'


def sql_name(schema: str, name: str) -> str:
    return f"{quote_identifier(schema)}.{quote_identifier(name)}"


def _and_join(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _commands_of(relation: Relation, role: str) -> list[str]:
    return [COMMAND_WORDS[command] for command in COMMAND_WORDS if relation.can(role, command)]


def _who_can(relation: Relation) -> str:
    parts = [f"{role} can {', '.join(_commands_of(relation, role))}" for role in API_ROLES
             if relation.reachable_by(role)]
    return "; ".join(parts)


def _exposed(relation: Relation) -> bool:
    return relation.exposed and not relation.is_partition


def lint_catalog(catalog: Catalog) -> list[Finding]:
    findings: list[Finding] = []
    for lint in LINTS:
        findings.extend(lint(catalog))
    return findings


# --- tables ------------------------------------------------------------------------------------------------

def rls_disabled(catalog: Catalog) -> list[Finding]:
    return [
        Finding(
            code="rls_disabled", level="error", schema=r.schema, object=r.name, object_type=r.kind_name,
            splinter="0013_rls_disabled_in_public",
            message=f"RLS is disabled on {r.qualified_name}, which the Data API exposes: {_who_can(r)} on every row",
            remediation=f"ALTER TABLE {sql_name(r.schema, r.name)} ENABLE ROW LEVEL SECURITY; then add a policy "
                        "for what each role may do (or REVOKE ALL ON the table FROM anon, authenticated)",
        )
        for r in catalog.relations if r.is_table and _exposed(r) and not r.rls_enabled and r.reachable
    ]


def sensitive_columns_exposed(catalog: Catalog) -> list[Finding]:
    findings = []
    for r in catalog.relations:
        if not (r.is_table and _exposed(r) and not r.rls_enabled and r.sensitive_columns):
            continue
        readers = r.roles_that_can("select")
        if not readers:
            continue
        findings.append(Finding(
            code="sensitive_columns_exposed", level="error", schema=r.schema, object=r.name,
            object_type=r.kind_name, splinter="0023_sensitive_columns_exposed",
            message=f"{r.qualified_name} has no RLS and columns that look sensitive "
                    f"({', '.join(r.sensitive_columns)}): {_and_join(readers)} can read all of them",
            remediation=f"ALTER TABLE {sql_name(r.schema, r.name)} ENABLE ROW LEVEL SECURITY and add policies; "
                        "or REVOKE SELECT on those columns FROM anon, authenticated",
        ))
    return findings


def rls_no_policy(catalog: Catalog) -> list[Finding]:
    with_policies = {policy.qualified_table for policy in catalog.policies}
    return [
        Finding(
            code="rls_no_policy", level="info", schema=r.schema, object=r.name, object_type=r.kind_name,
            splinter="0008_rls_enabled_no_policy",
            message=f"RLS is enabled on {r.qualified_name} but it has no policy: anon and authenticated get no "
                    "rows and can change none; only service_role (which bypasses RLS) and the owner can use it",
            remediation="nothing to do if only the server uses this table; otherwise add a policy "
                        f"(CREATE POLICY ... ON {sql_name(r.schema, r.name)} ...)",
        )
        for r in catalog.relations
        if r.is_table and not r.is_partition and r.rls_enabled and not r.extension_owned
        and r.qualified_name not in with_policies
    ]


def policy_rls_disabled(catalog: Catalog) -> list[Finding]:
    findings = []
    for table, policies in sorted(catalog.policies_by_table().items()):
        relation = catalog.relation_by_name.get(table)
        if relation is None or relation.rls_enabled or relation.extension_owned or not relation.is_table:
            continue
        names = sorted(policy.name for policy in policies)
        findings.append(Finding(
            code="policy_rls_disabled", level="error", schema=relation.schema, object=relation.name,
            object_type=relation.kind_name, policy=", ".join(names), splinter="0007_policy_exists_rls_disabled",
            message=f"{relation.qualified_name} has {len(names)} polic{'y' if len(names) == 1 else 'ies'} "
                    f"({', '.join(names)}) but RLS is disabled, so they do nothing",
            remediation=f"ALTER TABLE {sql_name(relation.schema, relation.name)} ENABLE ROW LEVEL SECURITY",
        ))
    return findings


def owner_bypasses_rls(catalog: Catalog) -> list[Finding]:
    """Code running as a table's owner (SECURITY DEFINER functions and views) skips its policies."""
    definer_code: dict[str, list[str]] = {}
    for function in catalog.functions:
        if (function.security_definer and function.exposed and not function.returns_trigger
                and any(function.executable_by.values())):
            definer_code.setdefault(function.owner, []).append(f"function {function.schema}.{function.name}()")
    for view in catalog.relations:
        if view.kind == "v" and not view.security_invoker and view.reachable and not view.extension_owned:
            definer_code.setdefault(view.owner, []).append(f"view {view.qualified_name}")
    findings = []
    for r in catalog.relations:
        if not (r.is_table and _exposed(r) and r.rls_enabled and not r.rls_forced and not r.owner_bypasses_rls):
            continue
        code = definer_code.get(r.owner)
        if not code:
            continue
        findings.append(Finding(
            code="owner_bypasses_rls", level="info", schema=r.schema, object=r.name, object_type=r.kind_name,
            message=f"{r.qualified_name}'s owner {r.owner} bypasses its RLS, and {_and_join(sorted(code)[:3])}"
                    f"{' and more' if len(code) > 3 else ''} run as {r.owner} for API callers: there, every "
                    "policy of this table is skipped",
            remediation=f"ALTER TABLE {sql_name(r.schema, r.name)} FORCE ROW LEVEL SECURITY so the policies "
                        f"apply to {r.owner} too (or make that code SECURITY INVOKER)",
        ))
    return findings


def api_role_bypasses_rls(catalog: Catalog) -> list[Finding]:
    findings = [
        Finding(
            code="api_role_bypasses_rls", level="error", schema=None, object=role, object_type="role",
            message=f"the API role {role} is a superuser or has BYPASSRLS: no policy applies to it",
            remediation=f"ALTER ROLE {role} NOBYPASSRLS",
        )
        for role in API_ROLES if catalog.role_bypasses_rls.get(role)
    ]
    for r in catalog.relations:
        if not (r.is_table and _exposed(r) and r.rls_enabled and not r.rls_forced):
            continue
        owners = [role for role in API_ROLES if r.api_role_owns.get(role)]
        if owners:
            findings.append(Finding(
                code="api_role_bypasses_rls", level="error", schema=r.schema, object=r.name,
                object_type=r.kind_name,
                message=f"{_and_join(owners)} {'has' if len(owners) == 1 else 'have'} the privileges of "
                        f"{r.qualified_name}'s owner {r.owner}, and an owner bypasses RLS: its policies do "
                        "not apply to them",
                remediation=f"ALTER TABLE {sql_name(r.schema, r.name)} OWNER TO postgres (or FORCE ROW LEVEL "
                            "SECURITY)",
            ))
    return findings


# --- policies ------------------------------------------------------------------------------------------------

def _rls_active(catalog: Catalog, policy: Policy) -> bool:
    relation = catalog.relation_by_name.get(policy.qualified_table)
    return relation is None or relation.rls_enabled  # storage.objects is not read as a relation


def _api_roles_of(policy: Policy) -> list[str]:
    return [role for role in API_ROLES if policy.applies_to.get(role)]


def _has_privilege(catalog: Catalog, policy: Policy, role: str, command: str) -> bool:
    relation = catalog.relation_by_name.get(policy.qualified_table)
    return relation is None or relation.can(role, command)


def _updates_some_row(policies: list[Policy], role: str) -> bool:
    """Some permissive policy gives ``role`` rows to update (an UPDATE without USING updates nothing)."""
    return any(p.permissive and p.covers("update") and p.using is not None and p.applies_to.get(role)
               for p in policies)


def _opened_commands(catalog: Catalog, policy: Policy, table_policies: list[Policy]) -> dict[str, list[str]]:
    """command word -> the API roles a permissive policy lets do it to every row.

    Every row means: USING (for SELECT, UPDATE, DELETE) or WITH CHECK (for INSERT, UPDATE) is always true for
    the role (``Catalog.every_row``: always true, or for authenticated, true for every signed-in user). SELECT
    counts for anon only: signed-in users reading a shared table is common and intended."""
    opened: dict[str, list[str]] = {}
    for role in _api_roles_of(policy):
        using_true = catalog.every_row(policy.using, role)
        check_true = catalog.every_row(policy.with_check, role) or (
            policy.with_check is None and policy.command in ("UPDATE", "ALL") and using_true)
        for command in COMMAND_WORDS:
            if not policy.covers(command) or not _has_privilege(catalog, policy, role, command):
                continue
            if (command == "select" and using_true and role == "anon") \
                    or (command in ("update", "delete") and using_true) \
                    or (command == "insert" and check_true) \
                    or (command == "update" and check_true and _updates_some_row(table_policies, role)):
                opened.setdefault(COMMAND_WORDS[command], []).append(role)
    return {word: opened[word] for word in COMMAND_WORDS.values() if word in opened}


def _who(roles: Iterable[str]) -> str:
    return _and_join("every signed-in user (authenticated)" if role == "authenticated" else role for role in roles)


def _always_true_level(catalog: Catalog, policy: Policy, opened: dict[str, list[str]]) -> tuple[str, str]:
    """(level, why): an error when a role can rewrite or delete every row, or anon can read every row of a
    table with personal or secret columns; a warning otherwise (e.g. a public catalog: accept it)."""
    if "UPDATE" in opened or "DELETE" in opened:
        return "error", ""
    relation = catalog.relation_by_name.get(policy.qualified_table)
    columns = relation.sensitive_columns_by_role.get("anon", ()) if relation is not None else ()
    if "anon" in opened.get("SELECT", ()) and columns:
        return "error", f"; its columns {', '.join(columns)} look personal or secret"
    return "warn", ""


def policy_always_true(catalog: Catalog) -> list[Finding]:
    findings = []
    by_table = catalog.policies_by_table()
    for policy in catalog.policies:
        if not policy.permissive or not _rls_active(catalog, policy):
            continue
        opened = _opened_commands(catalog, policy, by_table[policy.qualified_table])
        if not opened:
            continue
        level, why = _always_true_level(catalog, policy, opened)
        grants = "; ".join(f"{_who(roles)} can {word}" for word, roles in opened.items())
        findings.append(Finding(
            code="policy_always_true", level=level, schema=policy.schema, object=policy.table,
            policy=policy.name, splinter="0024_rls_policy_always_true",
            message=f'policy "{policy.name}" on {policy.qualified_table} has no condition on the row: '
                    f"{grants} every row{why}",
            remediation="replace the condition with the one that limits rows, e.g. "
                        "USING ((select auth.uid()) = user_id); if every row really is public (a catalog), say so "
                        "with an accepted finding",
        ))
    return findings


def policy_null_auth_disjunct(catalog: Catalog) -> list[Finding]:
    findings = []
    for policy in catalog.policies:
        if not (policy.permissive and _api_roles_of(policy) and _rls_active(catalog, policy)):
            continue
        clauses = [name for name, text in (("USING", policy.using), ("WITH CHECK", policy.with_check))
                   if expressions.null_auth_disjuncts(text)]
        if not clauses:
            continue
        findings.append(Finding(
            code="policy_null_auth_disjunct", level="warn", schema=policy.schema, object=policy.table,
            policy=policy.name, splinter="0030_rls_policy_null_auth_disjunct",
            message=f'policy "{policy.name}" on {policy.qualified_table}: {" and ".join(clauses)} is true whenever '
                    "the auth function is NULL (`... IS NULL OR ...`), i.e. for every anonymous request",
            remediation="drop the IS NULL branch, or write `auth.uid() IS NOT NULL AND ...` if that was meant",
        ))
    return findings


def policy_per_row_auth_call(catalog: Catalog) -> list[Finding]:
    findings = []
    for policy in catalog.policies:
        if not _rls_active(catalog, policy):
            continue
        calls = expressions.per_row_calls(policy.using)
        calls += [call for call in expressions.per_row_calls(policy.with_check) if call not in calls]
        if not calls:
            continue
        shown = _and_join(calls)
        findings.append(Finding(
            code="policy_per_row_auth_call", level="warn", schema=policy.schema, object=policy.table,
            policy=policy.name, splinter="0003_auth_rls_initplan",
            message=f'policy "{policy.name}" on {policy.qualified_table} calls {shown} for every row '
                    "(performance)",
            remediation="wrap each call in a sub-select so Postgres runs it once per query: "
                        "(select auth.uid()) instead of auth.uid()",
        ))
    return findings


def multiple_permissive_policies(catalog: Catalog) -> list[Finding]:
    named_roles = sorted({role for policy in catalog.policies for role in policy.roles
                          if role not in ("public", *API_ROLES)
                          and not catalog.role_bypasses_rls.get(role, True)})

    def roles_of(policy: Policy) -> list[str]:
        roles = [role for role in API_ROLES if policy.applies_to.get(role)]
        return roles + [role for role in named_roles if "public" in policy.roles or role in policy.roles]

    findings = []
    for table, policies in sorted(catalog.policies_by_table().items()):
        permissive = [policy for policy in policies if policy.permissive]
        if len(permissive) < 2:
            continue
        relation = catalog.relation_by_name.get(table)
        if relation is None or not relation.rls_enabled:
            continue
        by_role_action: dict[str, list[str]] = {}
        for policy in permissive:
            commands = COMMAND_WORDS.values() if policy.command == "ALL" else (policy.command,)
            for role in roles_of(policy):
                for command in commands:
                    by_role_action.setdefault(f"{role} {command}", []).append(policy.name)
        overlaps: dict[tuple[str, ...], list[str]] = {}
        for role_action, names in by_role_action.items():
            if len(names) > 1:
                overlaps.setdefault(tuple(sorted(names)), []).append(role_action)
        if not overlaps:
            continue
        described = "; ".join(f"{', '.join(pairs)}: {', '.join(names)}" for names, pairs in overlaps.items())
        all_names = sorted({name for names in overlaps for name in names})
        findings.append(Finding(
            code="multiple_permissive_policies", level="warn", schema=relation.schema, object=relation.name,
            object_type=relation.kind_name, policy=", ".join(all_names), splinter="0006_multiple_permissive_policies",
            message=f"{table} has several permissive policies for the same role and action, each evaluated "
                    f"for every row (performance): {described}",
            remediation="merge them into one policy per role and action (OR their conditions)",
        ))
    return findings


def policy_user_metadata(catalog: Catalog) -> list[Finding]:
    return [
        Finding(
            code="policy_user_metadata", level="error", schema=policy.schema, object=policy.table,
            policy=policy.name, splinter="0015_rls_references_user_metadata",
            message=f'policy "{policy.name}" on {policy.qualified_table} trusts user_metadata, which every user '
                    "can edit (supabase.auth.updateUser({ data }))",
            remediation="decide on app_metadata (only the server can write it) or a table the user cannot change",
        )
        for policy in catalog.policies
        if expressions.trusts_user_metadata(policy.using) or expressions.trusts_user_metadata(policy.with_check)
    ]


# --- views, other relations -----------------------------------------------------------------------------------

def security_definer_view(catalog: Catalog) -> list[Finding]:
    findings = []
    for r in catalog.relations:
        if r.kind != "v" or r.security_invoker or r.extension_owned:
            continue
        readers = r.roles_that_can("select")
        if not readers:
            continue
        exposed = _exposed(r)
        where = "through the Data API" if exposed else "from any exposed view or function that reads it"
        findings.append(Finding(
            code="security_definer_view", level="error" if exposed else "warn", schema=r.schema, object=r.name,
            object_type="view", splinter="0010_security_definer_view",
            message=f"view {r.qualified_name} runs with its owner's rights ({r.owner}), not the caller's: "
                    f"{_and_join(readers)} read it {where} without the RLS of the tables under it",
            remediation=f"ALTER VIEW {sql_name(r.schema, r.name)} SET (security_invoker = true)",
        ))
    return findings


def auth_users_exposed(catalog: Catalog) -> list[Finding]:
    findings = []
    for r in catalog.relations:
        if not (r.reads_auth_users and _exposed(r)) or (r.kind == "v" and r.security_invoker):
            continue
        readers = r.roles_that_can("select")
        if not readers:
            continue
        findings.append(Finding(
            code="auth_users_exposed", level="error", schema=r.schema, object=r.name, object_type=r.kind_name,
            splinter="0002_auth_users_exposed",
            message=f"{r.kind_name} {r.qualified_name} reads auth.users and {_and_join(readers)} can select it: "
                    "user e-mails, phones and metadata leave through the Data API",
            remediation=f"REVOKE SELECT ON {sql_name(r.schema, r.name)} FROM anon, authenticated; or move it to "
                        "a schema that is not exposed, or make it security_invoker",
        ))
    return findings


def _relation_in_api(code: str, kind: str, splinter: str, why: str, fix: str) -> Callable[[Catalog], list[Finding]]:
    def lint(catalog: Catalog) -> list[Finding]:
        findings = []
        for r in catalog.relations:
            if r.kind != kind or not _exposed(r) or r.extension_owned:
                continue
            readers = r.roles_that_can("select")
            if readers:
                findings.append(Finding(
                    code=code, level="warn", schema=r.schema, object=r.name, object_type=r.kind_name,
                    splinter=splinter,
                    message=f"{r.kind_name} {r.qualified_name} is selectable by {_and_join(readers)} through the "
                            f"Data API, and {why}",
                    remediation=fix.format(name=sql_name(r.schema, r.name)),
                ))
        return findings

    lint.__name__ = code
    return lint


materialized_view_exposed = _relation_in_api(
    "materialized_view_exposed", "m", "0016_materialized_view_in_api",
    "RLS cannot apply to a materialized view",
    "REVOKE SELECT ON {name} FROM anon, authenticated; or move it to a schema that is not exposed")
foreign_table_exposed = _relation_in_api(
    "foreign_table_exposed", "f", "0017_foreign_table_in_api",
    "RLS cannot apply to a foreign table",
    "REVOKE ALL ON {name} FROM anon, authenticated; or move it to a schema that is not exposed")


def graphql_table_exposed(catalog: Catalog) -> list[Finding]:
    if not catalog.graphql_installed:
        return []
    findings = []
    for r in catalog.relations:
        if r.kind not in ("r", "p", "v", "m") or r.is_partition or r.extension_owned:
            continue
        readers = r.roles_that_can("select")
        if readers:
            findings.append(Finding(
                code="graphql_table_exposed", level="info", schema=r.schema, object=r.name, object_type=r.kind_name,
                splinter="0026_pg_graphql_anon_table_exposed" if "anon" in readers
                else "0027_pg_graphql_authenticated_table_exposed",
                message=f"pg_graphql is installed: {r.kind_name} {r.qualified_name}'s name, columns and "
                        f"relationships are visible to {_and_join(readers)} in /graphql/v1 introspection "
                        "(RLS still filters its rows)",
                remediation=f"REVOKE SELECT ON {sql_name(r.schema, r.name)} FROM anon if it must not be "
                            "discoverable; otherwise accept this finding",
            ))
    return findings


# --- functions ------------------------------------------------------------------------------------------------

def function_search_path_mutable(catalog: Catalog) -> list[Finding]:
    return [
        Finding(
            code="function_search_path_mutable", level="warn", schema=f.schema, object=f.name,
            object_type="function", arguments=f.arguments, splinter="0011_function_search_path_mutable",
            message=f"function {f.signature} has no fixed search_path: a caller's search_path decides which "
                    "tables and functions its unqualified names mean",
            remediation=f"ALTER FUNCTION {sql_name(f.schema, f.name)}({f.arguments}) SET search_path = '' "
                        "(and qualify the names it uses)",
        )
        for f in catalog.functions if not f.search_path_set
    ]


def _callable_definer(function: Function) -> list[str]:
    if not (function.security_definer and function.exposed) or function.returns_trigger:
        return []
    return [role for role in API_ROLES if function.executable_by.get(role)]


def _rows_bypassed(catalog: Catalog, function: Function) -> list[str]:
    """auth.users and the RLS tables a SECURITY DEFINER function returns rows of or reads (their policies do not
    apply to it, which runs as its owner)."""
    if function.body is None:
        return []
    from supadeploy.rls.function_reads import relations_read  # pglast: 20 ms to import, for definer bodies only

    names = set(relations_read(function.body))
    if function.body.returns_relation:
        names.add(function.body.returns_relation)
    protected = []
    for name in sorted(names):
        relation = catalog.relation_by_name.get(name)
        if name == "auth.users" or (relation is not None and relation.is_table and relation.rls_enabled):
            protected.append(name)
    return protected


def security_definer_function_executable(catalog: Catalog) -> list[Finding]:
    findings = []
    for f in catalog.functions:
        callers = _callable_definer(f)
        if not callers:
            continue
        bypassed = _rows_bypassed(catalog, f)
        reads = (f"; it returns or reads {_and_join(bypassed)}: callers get those rows without their policies or "
                 "grants") if bypassed else ""
        findings.append(Finding(
            code="security_definer_function_executable", level="error" if bypassed else "warn", schema=f.schema,
            object=f.name, object_type="function", arguments=f.arguments,
            splinter="0028_anon_security_definer_function_executable" if "anon" in callers
            else "0029_authenticated_security_definer_function_executable",
            message=f"SECURITY DEFINER function {f.signature} runs as {f.owner}, bypassing RLS, and "
                    f"{_and_join(callers)} can call it: POST /rest/v1/rpc/{f.name}{reads}",
            remediation=f"REVOKE EXECUTE ON FUNCTION {sql_name(f.schema, f.name)}({f.arguments}) FROM PUBLIC, "
                        f"{', '.join(callers)}; or make it SECURITY INVOKER; or move it to a schema that is not "
                        "exposed",
        ))
    return findings


# --- the rest of the Data API surface --------------------------------------------------------------------------

def extension_in_exposed_schema(catalog: Catalog) -> list[Finding]:
    return [
        Finding(
            code="extension_in_exposed_schema", level="warn", schema=schema, object=name, object_type="extension",
            splinter="0014_extension_in_public",
            message=f"extension {name} is installed in {schema}: its functions, tables and views join the "
                    "Data API and every search_path that names the schema",
            remediation=f"CREATE SCHEMA IF NOT EXISTS extensions; ALTER EXTENSION {quote_identifier(name)} SET "
                        "SCHEMA extensions (or drop and recreate it there)",
        )
        for name, schema in catalog.extensions_in_exposed
    ]


def fkey_to_auth_unique(catalog: Catalog) -> list[Finding]:
    return [
        Finding(
            code="fkey_to_auth_unique", level="error", schema=fk.schema, object=fk.table, policy=None,
            splinter="0021_fkey_to_auth_unique",
            message=f"foreign key {fk.constraint} of {fk.schema}.{fk.table} references {fk.referenced_table} "
                    f"through the unique index {fk.referenced_index}, which Supabase Auth may change or drop",
            remediation=f"ALTER TABLE {sql_name(fk.schema, fk.table)} DROP CONSTRAINT "
                        f"{quote_identifier(fk.constraint)}; reference auth.users (id) instead",
        )
        for fk in catalog.foreign_keys_to_auth
    ]


def queue_exposed(catalog: Catalog) -> list[Finding]:
    return [
        Finding(
            code="queue_exposed", level="error", schema="pgmq", object=name,
            splinter="0019_insecure_queue_exposed_in_api",
            message=f"queue table pgmq.{name} has no RLS while pgmq_public is exposed: API callers can read and "
                    "send its messages",
            remediation=f"ALTER TABLE pgmq.{quote_identifier(name)} ENABLE ROW LEVEL SECURITY and add policies",
        )
        for name in catalog.exposed_queues
    ]


def _broad_bucket_read(catalog: Catalog, policy: Policy, bucket: str) -> bool:
    if catalog.every_row(policy.using, "anon"):  # always true
        return True
    tokens = expressions.strip_parentheses(expressions.tokenize(policy.using or ""))
    sides = expressions.split_comparison(tokens)
    if sides is None:
        return False
    left, right = (expressions.strip_parentheses(side) for side in sides)
    if not (left and left[-1].is_word("BUCKET_ID") and len(left) <= 3):
        left, right = right, left
    if not (left and left[-1].is_word("BUCKET_ID") and len(left) <= 3 and right and right[0].kind == "string"):
        return False
    literal = right[0].text
    value = literal[1:-1].replace("''", "'") if literal.startswith("'") else None
    return value == bucket and all(token.kind in ("cast", "word") for token in right[1:])


def public_bucket_allows_listing(catalog: Catalog) -> list[Finding]:
    policies = [policy for policy in catalog.policies
                if policy.schema == "storage" and policy.table == "objects" and policy.permissive
                and policy.command in ("SELECT", "ALL") and any(policy.applies_to.values())]
    findings = []
    for bucket in catalog.public_buckets:
        broad = sorted(policy.name for policy in policies if _broad_bucket_read(catalog, policy, bucket))
        if broad:
            findings.append(Finding(
                code="public_bucket_allows_listing", level="warn", schema="storage", object=bucket,
                object_type="bucket", policy=", ".join(broad), splinter="0025_public_bucket_allows_listing",
                message=f"public bucket {bucket} also has a broad SELECT policy on storage.objects "
                        f"({', '.join(broad)}): anyone can list every file in it, not only open the URLs they know",
                remediation="public URLs work without a SELECT policy: drop it, or limit it to the rows a user "
                            "owns",
            ))
    return findings


# --- grants: what the explicit Data API grants model breaks --------------------------------------------------

def _policy_commands(policy: Policy) -> list[str]:
    return [command for command in COMMAND_WORDS if policy.covers(command)]


def policy_without_grant(catalog: Catalog) -> list[Finding]:
    """A policy for anon or authenticated on an exposed table that role has no privilege for: it never runs."""
    findings = []
    for policy in catalog.policies:
        relation = catalog.relation_by_name.get(policy.qualified_table)
        roles = _api_roles_of(policy)
        if relation is None or not _exposed(relation) or not relation.is_table or not roles:
            continue
        if any(relation.can(role, command) for role in roles for command in _policy_commands(policy)):
            continue
        words = ", ".join(COMMAND_WORDS[command] for command in _policy_commands(policy))
        findings.append(Finding(
            code="policy_without_grant", level="warn", schema=relation.schema, object=relation.name,
            object_type=relation.kind_name, policy=policy.name,
            message=f"policy {policy.name!r} on {relation.qualified_name} is for {_and_join(roles)}, which "
                    f"{'has' if len(roles) == 1 else 'have'} no {words} privilege on the table: the policy never "
                    "runs and the Data API answers permission denied (42501)",
            remediation=f"GRANT {words} ON {sql_name(relation.schema, relation.name)} TO {', '.join(roles)}; "
                        "(new tables are not granted to the API roles by default any more), or drop the policy",
        ))
    return findings


def sequence_usage_missing(catalog: Catalog) -> list[Finding]:
    """A role may insert into a table whose column default takes a sequence's next value it may not use."""
    by_table = catalog.policies_by_table()
    findings = []
    for r in catalog.relations:
        if not (r.is_table and _exposed(r)):
            continue
        for default in r.default_sequences:
            writers = [role for role in API_ROLES if not default.usable_by.get(role)
                       and table_cell(catalog, r, by_table.get(r.qualified_name, []), role, "insert")[0] != DENIED]
            if not writers:
                continue
            schema, _, name = default.sequence.partition(".")
            findings.append(Finding(
                code="sequence_usage_missing", level="error", schema=r.schema, object=r.name,
                object_type=r.kind_name,
                message=f"{_and_join(writers)} may insert into {r.qualified_name}, but column {default.column} "
                        f"takes its default from sequence {default.sequence}, which {_and_join(writers)} may not "
                        "use: every insert fails with permission denied for the sequence (42501)",
                remediation=f"GRANT USAGE ON SEQUENCE {sql_name(schema, name)} TO {', '.join(writers)}; "
                            "(or make the column GENERATED ... AS IDENTITY, which needs no sequence grant)",
            ))
    return findings


def _unreachable_view_reads(catalog: Catalog, view: Relation, role: str) -> list[str]:
    return [name for name in view.reads
            if (base := catalog.relation_by_name.get(name)) is not None and not base.can(role, "select")]


def invoker_view_unreachable(catalog: Catalog) -> list[Finding]:
    """A security_invoker view granted to an API role that reads a relation the role has no SELECT on."""
    findings = []
    for r in catalog.relations:
        if r.kind != "v" or not r.security_invoker or not _exposed(r):
            continue
        for role in r.roles_that_can("select"):
            missing = _unreachable_view_reads(catalog, r, role)
            if missing:
                findings.append(Finding(
                    code="api_object_unreachable", level="warn", schema=r.schema, object=r.name,
                    object_type=r.kind_name,
                    message=f"{r.qualified_name} is granted to {role}, but it is a security_invoker view and "
                            f"{role} may not SELECT {_and_join(sorted(missing))}: every read of the view fails "
                            "with permission denied (42501)",
                    remediation=f"GRANT SELECT ON {', '.join(sorted(missing))} TO {role}; (with RLS on those "
                                "tables), or REVOKE the view from it",
                ))
    return findings


def _calls(expression: str | None, function: Function) -> bool:
    if expression is None or function.name not in expression:  # the pattern below needs the name as is
        return False
    qualified = rf"(\b{re.escape(function.schema)}\.|\b){re.escape(function.name)}\s*\("
    return re.search(qualified, expression) is not None


def policy_function_unreachable(catalog: Catalog) -> list[Finding]:
    """A policy for an API role calls a function that role may not execute: the request fails."""
    findings = []
    forbidden = {role: [function for function in catalog.functions if not function.executable_by.get(role)]
                 for role in API_ROLES}
    for policy in catalog.policies:
        if not any(forbidden[role] for role in _api_roles_of(policy)):
            continue
        relation = catalog.relation_by_name.get(policy.qualified_table)
        if relation is None or not _exposed(relation):
            continue
        for role in _api_roles_of(policy):
            if not any(relation.can(role, command) for command in _policy_commands(policy)):
                continue  # policy_without_grant says it
            for function in forbidden[role]:
                if not (_calls(policy.using, function) or _calls(policy.with_check, function)):
                    continue
                findings.append(Finding(
                    code="api_object_unreachable", level="warn", schema=function.schema, object=function.name,
                    object_type="function", arguments=function.arguments, policy=policy.name,
                    message=f"policy {policy.name!r} on {relation.qualified_name} calls {function.signature}, "
                            f"which {role} may not execute: its requests fail with permission denied (42501)",
                    remediation=f"GRANT EXECUTE ON FUNCTION {sql_name(function.schema, function.name)}"
                                f"({function.arguments}) TO {role}; (and USAGE on its schema)",
                ))
    return findings


LINTS: tuple[Callable[[Catalog], list[Finding]], ...] = (
    rls_disabled, sensitive_columns_exposed, rls_no_policy, policy_rls_disabled, owner_bypasses_rls,
    api_role_bypasses_rls, policy_always_true, policy_null_auth_disjunct, policy_per_row_auth_call,
    multiple_permissive_policies, policy_user_metadata, security_definer_view, auth_users_exposed,
    materialized_view_exposed, foreign_table_exposed, graphql_table_exposed, function_search_path_mutable,
    security_definer_function_executable, extension_in_exposed_schema, fkey_to_auth_unique, queue_exposed,
    public_bucket_allows_listing, policy_without_grant, sequence_usage_missing, invoker_view_unreachable,
    policy_function_unreachable,
)
