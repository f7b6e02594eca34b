"""Everything verify needs from the catalog, in one query (one round trip whatever the number of tables).

The query reads ``pg_class``, ``pg_namespace``, ``pg_policy`` (the table behind ``pg_policies``, with the
expressions printed by ``pg_get_expr``), ``pg_proc``, ``pg_extension``, ``pg_constraint`` and the
privilege functions (``has_table_privilege``, ``has_any_column_privilege``, ``has_schema_privilege``,
``has_function_privilege``, ``pg_has_role``) for the API roles ``anon`` and ``authenticated``. It returns
one JSON document (positional arrays, to keep it small), parsed here into dataclasses.

Schemas read: the exposed ones, plus every "user" schema (all but the system schemas and the schemas
Supabase manages, ``MANAGED_SCHEMAS``), because some lints (policies, functions) matter wherever the
object lives.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from supadeploy.errors import SupadeployError
from supadeploy.rls import expressions
from supadeploy.rls.sqltext import literal, text_array
from supadeploy.targets.base import ConcurrentTextReads, Target

# Schemas Supabase (or an extension) owns: not the project's to lint, as in splinter.
MANAGED_SCHEMAS = (
    "_analytics", "_realtime", "_supavisor", "_timescaledb_cache", "_timescaledb_catalog", "_timescaledb_config",
    "_timescaledb_internal", "auth", "cron", "extensions", "graphql", "graphql_public", "information_schema", "net",
    "pgbouncer", "pgmq", "pgmq_public", "pgroonga", "pgsodium", "pgsodium_masks", "pgtle", "realtime", "repack",
    "storage", "supabase_functions", "supabase_migrations", "tiger", "tiger_data", "topology", "vault",
)

# Column names that look personal or secret: a whole word of the name (words are separated by '_' or '-'),
# e.g. email, billing_address, date_of_birth, api_key. [verify] sensitive_columns adds exact column names.
SENSITIVE_COLUMN_WORDS = (
    "email", "e_mail", "address", "street", "postal_code", "zip_code", "birth", "birthday",
    "birthdate", "dob", "first_name", "last_name", "full_name", "surname", "salary",
    "password", "passwd", "pwd", "passphrase", "secret", "secret_key", "private_key", "api_key", "apikey",
    "auth_key", "auth_code", "token", "jwt", "session_id", "session_key", "otp", "totp", "two_factor",
    "2fa_secret", "2fa_code", "recovery_code", "backup_code", "verification_code", "ssn", "social_security",
    "tax_id", "national_id", "passport_number", "passport_id", "driver_license", "drivers_license",
    "license_number", "credit_card", "card_number", "cvv", "cvc", "cvn", "bank_account", "account_number",
    "routing_number", "iban", "swift_code", "bic", "phone", "phone_number", "date_of_birth", "health_record",
    "medical_record", "patient_id", "insurance_number", "health_insurance", "medical_insurance", "treatment",
    "mac_address", "macaddr", "imei", "device_uuid", "pgp_key", "gpg_key", "ssh_key", "certificate",
    "license_key", "activation_key", "facial_recognition",
)
SENSITIVE_COLUMN_PATTERN = "(^|_)(" + "|".join(SENSITIVE_COLUMN_WORDS) + ")(_|$)"


def sensitive_column_pattern(extra_names: tuple[str, ...] = ()) -> str:
    """The regular expression a lower-cased column name (with '-' read as '_') is matched against."""
    if not extra_names:
        return SENSITIVE_COLUMN_PATTERN
    exact = "|".join(re.escape(name.lower().replace("-", "_")) for name in extra_names)
    return f"{SENSITIVE_COLUMN_PATTERN}|^({exact})$"

RELATION_KINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view",
                  "f": "foreign table"}


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    kind: str
    """r table, p partitioned table, v view, m materialized view, f foreign table"""
    rls_enabled: bool
    rls_forced: bool
    is_partition: bool
    exposed: bool
    owner: str
    owner_bypasses_rls: bool
    """The owner is a superuser or has BYPASSRLS: FORCE ROW LEVEL SECURITY would not stop it."""
    options: tuple[str, ...]
    extension_owned: bool
    privileges: dict[str, str]
    """role -> the commands it may run, as letters of 'siud' (empty without USAGE on the schema)"""
    api_role_owns: dict[str, bool]
    """role -> it has the owner's privileges (is or inherits the owner)"""
    updatable: int
    """pg_relation_is_updatable's bit mask"""
    reads: tuple[str, ...]
    """views and materialized views: the relations their query reads (schema.name)"""
    sensitive_columns: tuple[str, ...]
    """tables: the columns that look personal or secret (SENSITIVE_COLUMN_WORDS) that anon or authenticated may
    select"""
    sensitive_columns_by_role: dict[str, tuple[str, ...]]
    """role -> those it may select"""
    default_sequences: tuple[SequenceDefault, ...] = ()
    """tables: the sequences their column defaults call nextval() on (serial, bigserial, explicit defaults)"""

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def reads_auth_users(self) -> bool:
        return "auth.users" in self.reads

    @property
    def kind_name(self) -> str:
        return RELATION_KINDS[self.kind]

    @property
    def is_table(self) -> bool:
        return self.kind in ("r", "p")

    @property
    def security_invoker(self) -> bool:
        for option in self.options:
            key, _, value = option.partition("=")
            if key.strip().lower() == "security_invoker":
                return value.strip().lower() in ("true", "on", "yes", "1", "")
        return False

    def can(self, role: str, command: str) -> bool:
        return command[0] in self.privileges.get(role, "")

    def reachable_by(self, role: str) -> bool:
        return bool(self.privileges.get(role))

    @property
    def reachable(self) -> bool:
        return any(self.privileges.values())

    def roles_that_can(self, command: str) -> list[str]:
        return [role for role in ("anon", "authenticated") if self.can(role, command)]


@dataclass(frozen=True)
class SequenceDefault:
    """A column whose default takes the next value of a sequence: an INSERT that omits the column needs USAGE
    on the sequence (identity columns do not, so they are not listed)."""

    column: str
    sequence: str
    """schema.name"""
    usable_by: dict[str, bool]
    """anon / authenticated -> has USAGE (or UPDATE) on the sequence and on its schema"""


@dataclass(frozen=True)
class Policy:
    schema: str
    table: str
    name: str
    permissive: bool
    command: str
    """SELECT, INSERT, UPDATE, DELETE or ALL"""
    roles: tuple[str, ...]
    using: str | None
    with_check: str | None
    applies_to: dict[str, bool]
    """anon / authenticated -> the policy applies to that role (PUBLIC, named, or through membership)"""

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}"

    def covers(self, command: str) -> bool:
        return self.command == "ALL" or self.command == command.upper()


@dataclass(frozen=True)
class Function:
    schema: str
    name: str
    arguments: str
    security_definer: bool
    returns_trigger: bool
    search_path_set: bool
    executable_by: dict[str, bool]
    owner: str
    exposed: bool
    kind: str
    body: DefinerBody | None = None
    """SECURITY DEFINER functions only: what is needed to tell which relations they read."""

    @property
    def signature(self) -> str:
        return f"{self.schema}.{self.name}({self.arguments})"


@dataclass(frozen=True)
class DefinerBody:
    language: str
    source: str
    """prosrc, or the BEGIN ATOMIC body as Postgres prints it"""
    search_path: str | None
    """the function's SET search_path value, when it has one"""
    returns_relation: str | None
    """schema.name of the table or view whose row type it returns (RETURNS [SETOF] auth.users)"""


@dataclass(frozen=True)
class ForeignKeyToAuth:
    schema: str
    table: str
    constraint: str
    referenced_table: str
    referenced_index: str


@dataclass(frozen=True)
class Catalog:
    exposed_schemas: tuple[str, ...]
    relations: list[Relation]
    policies: list[Policy]
    functions: list[Function]
    extensions_in_exposed: list[tuple[str, str]]
    foreign_keys_to_auth: list[ForeignKeyToAuth]
    public_buckets: list[str]
    exposed_queues: list[str]
    graphql_installed: bool
    role_bypasses_rls: dict[str, bool]
    """role name -> superuser or BYPASSRLS (anon, authenticated and every role named in a policy)"""
    relation_by_name: dict[str, Relation] = field(default_factory=dict)
    constant_true: dict[str, frozenset[str]] = field(default_factory=dict)
    """role -> the policy expressions without a column that Postgres evaluated to true as that role
    (rls/constant_expressions.py)"""

    def __post_init__(self) -> None:
        self.relation_by_name.update({relation.qualified_name: relation for relation in self.relations})

    def every_row(self, expression: str | None, role: str) -> bool:
        """``expression`` lets every row through for every request of ``role``: it is always true (read from its
        structure, or evaluated by Postgres), or, for authenticated, true for every signed-in user
        (``(select auth.uid()) IS NOT NULL``). A missing clause is not: it lets nothing through."""
        if expression is None:
            return False
        if expressions.is_always_true(expression) or expression in self.constant_true.get(role, ()):
            return True
        return role == "authenticated" and expressions.true_for_every_signed_in_user(expression)

    def policies_by_table(self) -> dict[str, list[Policy]]:
        grouped: dict[str, list[Policy]] = {}
        for policy in self.policies:
            grouped.setdefault(policy.qualified_table, []).append(policy)
        return grouped


_COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}


def catalog_query(exposed_schemas: tuple[str, ...], sensitive_columns: tuple[str, ...] = ()) -> str:
    """The whole document of :func:`parse_catalog` in one query."""
    return _catalog_sql(exposed_schemas, sensitive_columns, policies=True, the_rest=True)


def catalog_queries(exposed_schemas: tuple[str, ...], sensitive_columns: tuple[str, ...] = ()) -> tuple[str, str]:
    """The same document in two queries, for two sessions at once: the policies (``pg_get_expr`` builds the
    relation cache entry of every table, about half of the server's time) and everything else."""
    return (_catalog_sql(exposed_schemas, sensitive_columns, policies=True, the_rest=False),
            _catalog_sql(exposed_schemas, sensitive_columns, policies=False, the_rest=True))


def _catalog_sql(exposed_schemas: tuple[str, ...], sensitive_columns: tuple[str, ...], *, policies: bool,
                 the_rest: bool) -> str:
    exposed = text_array(exposed_schemas)
    managed = text_array(MANAGED_SCHEMAS)
    sensitive = literal(sensitive_column_pattern(sensitive_columns))

    def privileges(role: str) -> str:
        return (
            f"CASE WHEN ns.{role}_usage THEN concat("
            f"CASE WHEN has_any_column_privilege(api.{role}, c.oid, 'SELECT') THEN 's' END, "
            f"CASE WHEN has_any_column_privilege(api.{role}, c.oid, 'INSERT') THEN 'i' END, "
            f"CASE WHEN has_any_column_privilege(api.{role}, c.oid, 'UPDATE') THEN 'u' END, "
            f"CASE WHEN has_table_privilege(api.{role}, c.oid, 'DELETE') THEN 'd' END) ELSE '' END"
        )

    common = f"""WITH api AS (
  SELECT to_regrole('anon') AS anon, to_regrole('authenticated') AS authenticated
), ns AS (
  SELECT n.oid, n.nspname, n.nspname = ANY ({exposed}) AS exposed,
         coalesce(has_schema_privilege(api.anon, n.oid, 'USAGE'), false) AS anon_usage,
         coalesce(has_schema_privilege(api.authenticated, n.oid, 'USAGE'), false) AS authenticated_usage
  FROM pg_catalog.pg_namespace AS n, api
  WHERE n.nspname = ANY ({exposed})
     OR (n.nspname !~ '^pg_' AND NOT n.nspname = ANY ({managed}))
"""
    relations_ctes = f"""), seq AS (
  SELECT ad.adrelid AS relid, json_agg(json_build_array(a.attname, sn.nspname || '.' || sc.relname,
      coalesce(has_schema_privilege(api.anon, sn.oid, 'USAGE')
               AND has_sequence_privilege(api.anon, sc.oid, 'USAGE, UPDATE'), false),
      coalesce(has_schema_privilege(api.authenticated, sn.oid, 'USAGE')
               AND has_sequence_privilege(api.authenticated, sc.oid, 'USAGE, UPDATE'), false))
    ORDER BY a.attnum) AS defaults
  FROM pg_catalog.pg_depend AS d
  JOIN pg_catalog.pg_attrdef AS ad ON ad.oid = d.objid
  JOIN pg_catalog.pg_attribute AS a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
  JOIN pg_catalog.pg_class AS sc ON sc.oid = d.refobjid AND sc.relkind = 'S'
  JOIN pg_catalog.pg_namespace AS sn ON sn.oid = sc.relnamespace
  CROSS JOIN api
  WHERE d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
    AND a.attidentity = '' AND NOT a.attisdropped
    AND ad.adrelid IN (SELECT c.oid FROM pg_catalog.pg_class AS c JOIN ns ON ns.oid = c.relnamespace)
  GROUP BY ad.adrelid
), table_columns AS (
  SELECT a.attrelid, a.attnum, a.attname, ns.anon_usage, ns.authenticated_usage
  FROM pg_catalog.pg_attribute AS a
  JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
  JOIN ns ON ns.oid = c.relnamespace
  WHERE a.attnum > 0 AND NOT a.attisdropped
), column_names AS MATERIALIZED (
  SELECT DISTINCT attname FROM table_columns
), sensitive AS (
  SELECT t.attrelid AS relid, array_agg(json_build_array(t.attname,
      t.anon_usage AND coalesce(has_column_privilege(api.anon, t.attrelid, t.attnum, 'SELECT'), false),
      t.authenticated_usage
        AND coalesce(has_column_privilege(api.authenticated, t.attrelid, t.attnum, 'SELECT'), false))
    ORDER BY t.attnum) AS columns
  FROM table_columns AS t
  CROSS JOIN api
  WHERE t.attname IN (SELECT attname FROM column_names WHERE replace(lower(attname), '-', '_') ~ {sensitive})
  GROUP BY t.attrelid
), rel AS (
  SELECT json_build_array(
    ns.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relispartition, ns.exposed,
    pg_catalog.pg_get_userbyid(c.relowner), o.rolsuper OR o.rolbypassrls, c.reloptions,
    EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d WHERE d.classid = 'pg_catalog.pg_class'::regclass
            AND d.objid = c.oid AND d.deptype = 'e'),
    {privileges("anon")}, {privileges("authenticated")},
    coalesce(pg_has_role(api.anon, c.relowner, 'USAGE'), false),
    coalesce(pg_has_role(api.authenticated, c.relowner, 'USAGE'), false),
    CASE c.relkind WHEN 'v' THEN pg_catalog.pg_relation_is_updatable(c.oid, false) WHEN 'm' THEN 0 ELSE 28 END,
    CASE WHEN c.relkind IN ('v', 'm') THEN ARRAY(
      SELECT DISTINCT rn.nspname || '.' || rc.relname
      FROM pg_catalog.pg_rewrite AS rw
      JOIN pg_catalog.pg_depend AS d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = rw.oid
        AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> c.oid
      JOIN pg_catalog.pg_class AS rc ON rc.oid = d.refobjid AND rc.relkind IN ('r', 'p', 'v', 'm', 'f')
      JOIN pg_catalog.pg_namespace AS rn ON rn.oid = rc.relnamespace
      WHERE rw.ev_class = c.oid) END,
    CASE WHEN c.relkind IN ('r', 'p') THEN coalesce(sensitive.columns, '{{}}') END,
    seq.defaults
  ) AS item
  FROM pg_catalog.pg_class AS c
  JOIN ns ON ns.oid = c.relnamespace
  JOIN pg_catalog.pg_roles AS o ON o.oid = c.relowner
  LEFT JOIN seq ON seq.relid = c.oid
  LEFT JOIN sensitive ON sensitive.relid = c.oid
  CROSS JOIN api
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
"""
    policies_cte = """), pol AS (
  SELECT json_build_array(
    n.nspname, c.relname, p.polname, p.polpermissive, p.polcmd, p.polroles,
    pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
  ) AS item
  FROM pg_catalog.pg_policy AS p
  JOIN pg_catalog.pg_class AS c ON c.oid = p.polrelid
  JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
  WHERE n.oid IN (SELECT oid FROM ns) OR p.polrelid = to_regclass('storage.objects')
"""
    functions_cte = """), fn AS (
  SELECT json_build_array(
    ns.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid), p.prosecdef,
    p.prorettype IN ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype),
    EXISTS (SELECT 1 FROM unnest(p.proconfig) AS setting WHERE setting ~ '^search_path='),
    ns.anon_usage AND coalesce(has_function_privilege(api.anon, p.oid, 'EXECUTE'), false),
    ns.authenticated_usage AND coalesce(has_function_privilege(api.authenticated, p.oid, 'EXECUTE'), false),
    pg_catalog.pg_get_userbyid(p.proowner), ns.exposed, p.prokind,
    CASE WHEN p.prosecdef THEN json_build_array(
      l.lanname,
      CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) ELSE p.prosrc END,
      (SELECT substr(setting, 13) FROM unnest(p.proconfig) AS setting WHERE setting ~ '^search_path=' LIMIT 1),
      (SELECT rn.nspname || '.' || rc.relname FROM pg_catalog.pg_type AS t
       JOIN pg_catalog.pg_class AS rc ON rc.oid = t.typrelid
       JOIN pg_catalog.pg_namespace AS rn ON rn.oid = rc.relnamespace
       WHERE t.oid = p.prorettype)) END
  ) AS item
  FROM pg_catalog.pg_proc AS p
  JOIN ns ON ns.oid = p.pronamespace
  JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
  CROSS JOIN api
  WHERE p.prokind IN ('f', 'p')
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d WHERE d.classid = 'pg_catalog.pg_proc'::regclass
                    AND d.objid = p.oid AND d.deptype = 'e')
"""
    relations_field = """  'relations', coalesce((SELECT json_agg(item) FROM rel), '[]'::json),"""
    policies_field = """  'policies', coalesce((SELECT json_agg(item) FROM pol), '[]'::json),"""
    other_fields = f"""  'functions', coalesce((SELECT json_agg(item) FROM fn), '[]'::json),
  'extensions', coalesce((
    SELECT json_agg(json_build_array(e.extname, n.nspname) ORDER BY e.extname)
    FROM pg_catalog.pg_extension AS e JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace
    WHERE e.extname <> 'plpgsql' AND (n.nspname = 'public' OR n.nspname = ANY ({exposed}))), '[]'::json),
  'foreign_keys_to_auth', coalesce((
    SELECT json_agg(json_build_array(n.nspname, c.relname, con.conname,
                                     rn.nspname || '.' || rc.relname, con.conindid::regclass::text))
    FROM pg_catalog.pg_constraint AS con
    JOIN pg_catalog.pg_class AS c ON c.oid = con.conrelid
    JOIN ns AS n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_class AS rc ON rc.oid = con.confrelid
    JOIN pg_catalog.pg_namespace AS rn ON rn.oid = rc.relnamespace
    JOIN pg_catalog.pg_index AS i ON i.indexrelid = con.conindid
    WHERE con.contype = 'f' AND rn.nspname = 'auth' AND i.indisunique AND NOT i.indisprimary), '[]'::json),
  'public_buckets', CASE WHEN EXISTS (
      SELECT 1 FROM pg_catalog.pg_attribute
      WHERE attrelid = to_regclass('storage.buckets') AND attname = 'public' AND NOT attisdropped)
    THEN to_json((xpath('/table/row/id/text()', query_to_xml(
      'SELECT id FROM storage.buckets WHERE public ORDER BY id', false, false, '')))::text[])
    ELSE '[]'::json END,
  'exposed_queues', CASE WHEN 'pgmq_public' = ANY ({exposed}) THEN coalesce((
    SELECT json_agg(c.relname ORDER BY c.relname) FROM pg_catalog.pg_class AS c, api
    WHERE c.relnamespace = to_regnamespace('pgmq') AND c.relkind IN ('r', 'p') AND c.relname ~ '^q_'
      AND NOT c.relrowsecurity
      AND (coalesce(has_table_privilege(api.anon, c.oid, 'SELECT'), false)
           OR coalesce(has_table_privilege(api.authenticated, c.oid, 'SELECT'), false))), '[]'::json)
    ELSE '[]'::json END,
  'graphql_installed', EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_graphql'),
  'roles', coalesce((
    SELECT json_agg(json_build_array(r.oid, r.rolname, r.rolsuper OR r.rolbypassrls,
                                     coalesce(pg_has_role(api.anon, r.oid, 'MEMBER'), false),
                                     coalesce(pg_has_role(api.authenticated, r.oid, 'MEMBER'), false)))
    FROM pg_catalog.pg_roles AS r, api
    WHERE r.rolname IN ('anon', 'authenticated')
       OR r.oid IN (SELECT DISTINCT unnest(polroles) FROM pg_catalog.pg_policy)), '[]'::json)"""
    ctes = common + (relations_ctes + functions_cte if the_rest else "") + (policies_cte if policies else "")
    fields = [relations_field] if the_rest else []
    fields += [policies_field] if policies else []
    fields += [other_fields] if the_rest else []
    return ctes + ")\nSELECT json_build_object(\n" + "\n".join(fields).rstrip(",") + "\n)::text\n"


def read_catalog(target: Target, exposed_schemas: tuple[str, ...], sensitive_columns: tuple[str, ...] = ()) -> Catalog:
    """Run the catalog query on ``target`` and parse it (``sensitive_columns``: [verify] sensitive_columns).
    A target with ConcurrentTextReads runs it as its two halves at once (catalog_queries)."""
    if isinstance(target, ConcurrentTextReads):
        policies, the_rest = target.read_texts(catalog_queries(exposed_schemas, sensitive_columns))
        data: dict[str, Any] = json.loads(the_rest or "{}")
        data.update(json.loads(policies or "{}"))
        return parse_catalog(data, exposed_schemas)
    rows = target.query(catalog_query(exposed_schemas, sensitive_columns))
    document = rows[0][0]
    data = json.loads(document) if isinstance(document, str) else document
    return parse_catalog(data, exposed_schemas)


def parse_catalog(data: dict[str, Any], exposed_schemas: tuple[str, ...]) -> Catalog:
    """Parse the catalog query's document. ``roles`` rows are [oid, name, bypasses RLS, anon is a member,
    authenticated is a member]; a policy's roles are OIDs (0 = PUBLIC)."""
    role_rows = data["roles"]
    roles: dict[str, bool] = {row[1]: row[2] for row in role_rows}
    names = {int(row[0]): row[1] for row in role_rows}  # OIDs come as JSON numbers or strings
    names[0] = "public"
    members = {"anon": {int(row[0]) for row in role_rows if row[3]} | {0},
               "authenticated": {int(row[0]) for row in role_rows if row[4]} | {0}}
    missing = [role for role in ("anon", "authenticated") if role not in roles]
    if missing:
        raise SupadeployError(
            f"the database has no {' and no '.join(repr(role) for role in missing)} role, so it is not shaped "
            "like a Supabase database and there is no Data API to verify",
            fix="point --env/--db-url at a Supabase database (or `supadeploy local start` for a local one)",
        )
    return Catalog(
        exposed_schemas=exposed_schemas,
        relations=[_relation(item) for item in data["relations"]],
        policies=[_policy(item, names, members) for item in data["policies"]],
        functions=[_function(item) for item in data["functions"]],
        extensions_in_exposed=[(name, schema) for name, schema in data["extensions"]],
        foreign_keys_to_auth=[ForeignKeyToAuth(*item) for item in data["foreign_keys_to_auth"]],
        public_buckets=[html.unescape(bucket) for bucket in data["public_buckets"] or []],
        exposed_queues=list(data["exposed_queues"] or []),
        graphql_installed=bool(data["graphql_installed"]),
        role_bypasses_rls=roles,
    )


def _relation(item: list[Any]) -> Relation:
    (schema, name, kind, rls, forced, partition, exposed, owner, owner_bypasses, options, extension_owned,
     anon_privileges, authenticated_privileges, anon_owns, authenticated_owns, updatable, reads, sensitive,
     sequences) = item
    return Relation(
        schema=schema, name=name, kind=kind, rls_enabled=rls, rls_forced=forced, is_partition=partition,
        exposed=exposed, owner=owner, owner_bypasses_rls=owner_bypasses, options=tuple(options or ()),
        extension_owned=extension_owned,
        privileges={"anon": anon_privileges, "authenticated": authenticated_privileges},
        api_role_owns={"anon": anon_owns, "authenticated": authenticated_owns},
        updatable=updatable if updatable is not None else 0, reads=tuple(reads or ()),
        sensitive_columns=tuple(name for name, anon, authenticated in sensitive or () if anon or authenticated),
        sensitive_columns_by_role={role: tuple(column[0] for column in sensitive or () if column[index])
                                   for index, role in ((1, "anon"), (2, "authenticated"))},
        default_sequences=tuple(SequenceDefault(column=column, sequence=sequence,
                                                usable_by={"anon": anon, "authenticated": authenticated})
                                for column, sequence, anon, authenticated in sequences or ()),
    )


def _policy(item: list[Any], names: dict[int, str], members: dict[str, set[int]]) -> Policy:
    schema, table, name, permissive, command, role_oid_values, using, with_check = item
    role_oids = [int(oid) for oid in role_oid_values]
    return Policy(schema=schema, table=table, name=name, permissive=permissive, command=_COMMANDS[command],
                  roles=tuple(sorted(names.get(oid, str(oid)) for oid in role_oids)), using=using,
                  with_check=with_check,
                  applies_to={role: not members[role].isdisjoint(role_oids) for role in ("anon", "authenticated")})


def _function(item: list[Any]) -> Function:
    (schema, name, arguments, security_definer, returns_trigger, search_path_set, anon, authenticated, owner,
     exposed, kind, body) = item
    return Function(schema=schema, name=name, arguments=arguments, security_definer=security_definer,
                    returns_trigger=returns_trigger, search_path_set=search_path_set,
                    executable_by={"anon": anon, "authenticated": authenticated}, owner=owner, exposed=exposed,
                    kind=kind, body=DefinerBody(*body) if body else None)
