"""The lint rules: one function per rule, each with a stable code.

A rule looks at one located statement (see :mod:`supadeploy.lint.parse`) together with what the file
did before it (:class:`FileState`) and yields :class:`Hit` s: a code, a file offset and a message.
Codes never change meaning; retired codes are not reused. ``docs/safety.md`` lists them all.

"Existing table" means a table this migration file did not create itself: the file may run against a
production table of any size, so the locking rules apply to it. Tables created earlier in the same file
are new and empty, so the locking and destructive rules leave them alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, GrantTargetType, ObjectType, RoleSpecType

from supadeploy.lint.parse import ParsedStatement, walk

ERROR, WARNING, INFO = "error", "warning", "info"
DYNAMIC_SQL = "SD290"
LEVELS = (ERROR, WARNING, INFO)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    level: str
    category: str
    summary: str
    fix: str


_RULE_LIST = (
    # idempotency
    Rule("SD101", "create-without-if-not-exists", WARNING, "idempotency",
         "CREATE TABLE / INDEX / SCHEMA / EXTENSION / SEQUENCE without IF NOT EXISTS fails when run twice",
         "write CREATE ... IF NOT EXISTS"),
    Rule("SD102", "add-column-without-if-not-exists", WARNING, "idempotency",
         "ADD COLUMN without IF NOT EXISTS fails when run twice",
         "write ADD COLUMN IF NOT EXISTS, or guard it with DO $$ ... IF NOT EXISTS (SELECT FROM "
         "information_schema.columns ...) $$"),
    Rule("SD103", "create-policy-without-drop", WARNING, "idempotency",
         "CREATE POLICY without a DROP POLICY IF EXISTS before it in the same file fails when run twice",
         "put DROP POLICY IF EXISTS \"name\" ON table; right before the CREATE POLICY"),
    Rule("SD104", "create-type-not-guarded", WARNING, "idempotency",
         "CREATE TYPE / DOMAIN outside a guard fails when run twice",
         "wrap it in DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_type ...) THEN ... END IF; END $$, or catch "
         "duplicate_object"),
    Rule("SD105", "create-without-or-replace", WARNING, "idempotency",
         "CREATE FUNCTION / TRIGGER / VIEW without OR REPLACE (or a DROP ... IF EXISTS before it) fails when run "
         "twice", "write CREATE OR REPLACE ..., or DROP ... IF EXISTS right before it"),
    # destructive
    Rule("SD201", "drop-table", ERROR, "destructive", "DROP TABLE deletes the table and its data",
         "keep the table until no deployed client uses it; acknowledge with -- supadeploy:ignore SD201 <reason>"),
    Rule("SD202", "drop-column", ERROR, "destructive", "DROP COLUMN deletes the column's data and breaks clients "
         "still reading it", "stop using the column in every deployed client first (expand/contract); "
         "acknowledge with -- supadeploy:ignore SD202 <reason>"),
    Rule("SD203", "drop-schema", ERROR, "destructive", "DROP SCHEMA deletes everything in the schema",
         "acknowledge with -- supadeploy:ignore SD203 <reason>"),
    Rule("SD204", "drop-type", ERROR, "destructive", "DROP TYPE / DOMAIN fails or cascades to the columns using it",
         "acknowledge with -- supadeploy:ignore SD204 <reason>"),
    Rule("SD205", "truncate", ERROR, "destructive", "TRUNCATE deletes every row",
         "acknowledge with -- supadeploy:ignore SD205 <reason>"),
    Rule("SD206", "delete-without-where", ERROR, "destructive", "DELETE without WHERE deletes every row",
         "add a WHERE clause (WHERE true if you mean every row)"),
    Rule("SD207", "update-without-where", ERROR, "destructive", "UPDATE without WHERE rewrites every row",
         "add a WHERE clause (WHERE true if you mean every row)"),
    Rule("SD208", "alter-column-type", ERROR, "destructive",
         "ALTER COLUMN TYPE rewrites the table under an ACCESS EXCLUSIVE lock and can break clients",
         "add a new column, backfill it in batches, switch clients, then drop the old one"),
    Rule("SD209", "rename-table", ERROR, "destructive", "renaming a table breaks every deployed client using it",
         "create the new table (or a view with the old name) and migrate clients first"),
    Rule("SD210", "rename-column", ERROR, "destructive", "renaming a column breaks every deployed client using it",
         "add the new column, write both, switch clients, then drop the old one"),
    Rule("SD290", "dynamic-sql", ERROR, "destructive",
         "an EXECUTE whose SQL is not a constant (or a body no parser reads) runs SQL no rule can check",
         "build the SQL from constants (format() with constant arguments is read), or acknowledge with "
         "-- supadeploy:ignore SD290 <reason>"),
    # locking hazards on existing tables
    Rule("SD301", "index-without-concurrently", WARNING, "locking",
         "CREATE INDEX on an existing table blocks writes to it while the index builds",
         "write CREATE INDEX CONCURRENTLY in a file marked -- supadeploy:no-transaction"),
    Rule("SD302", "add-column-not-null-without-default", WARNING, "locking",
         "ADD COLUMN ... NOT NULL without a DEFAULT fails on a table that has rows",
         "add a DEFAULT, or add the column nullable, backfill it, then SET NOT NULL"),
    Rule("SD303", "set-not-null", WARNING, "locking",
         "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock",
         "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL"),
    Rule("SD304", "foreign-key-without-not-valid", WARNING, "locking",
         "ADD FOREIGN KEY validates every row while locking both tables",
         "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration (not in the same transaction)"),
    Rule("SD305", "check-without-not-valid", WARNING, "locking",
         "ADD CHECK validates every row under an ACCESS EXCLUSIVE lock",
         "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration (not in the same transaction)"),
    Rule("SD306", "missing-lock-timeout", INFO, "locking",
         "a statement locks an existing table and no lock_timeout was set before it: behind a long query it "
         "queues every other query on that table", "SET lock_timeout = '5s'; at the top of the file (supadeploy "
         "push applies [push] lock_timeout itself; supabase db push and the SQL editor do not)"),
    # security
    Rule("SD401", "table-without-rls", ERROR, "security",
         "a table in an exposed schema without ENABLE ROW LEVEL SECURITY in this or a later migration is "
         "readable and writable by anyone with the anon key",
         "ALTER TABLE ... ENABLE ROW LEVEL SECURITY; and add policies"),
    Rule("SD402", "policy-trusts-user-metadata", ERROR, "security",
         "a policy reads user_metadata, which every user can change for themselves",
         "use app_metadata (only the service role can write it) or a table you control"),
    Rule("SD403", "anon-write-grant", WARNING, "security",
         "GRANT of write privileges to anon (or PUBLIC) leaves Row Level Security as the only barrier",
         "grant only SELECT to anon, or grant writes to authenticated"),
    Rule("SD404", "granted-table-without-rls", ERROR, "security",
         "a table this migration creates in an exposed schema is granted to anon or authenticated (or PUBLIC) "
         "without ENABLE ROW LEVEL SECURITY in the same migration: once it is applied, every row is open",
         "ALTER TABLE ... ENABLE ROW LEVEL SECURITY; in the same migration, before or after the GRANT"),
    Rule("SD405", "policies-without-grant", WARNING, "security",
         "a table this migration creates gets policies, but neither this migration nor a later one grants it to "
         "anon or authenticated: on Supabase (explicit Data API grants) it is unreachable through the Data API",
         "GRANT the commands the policies are for ON the table TO the roles they name"),
    # hygiene
    Rule("SD501", "syntax-error", ERROR, "hygiene", "PostgreSQL cannot parse the statement",
         "fix the SQL at the position shown"),
    Rule("SD502", "missing-header-field", INFO, "hygiene", "the runbook header lacks a field",
         "add the missing '-- Field:' lines at the top of the file (supadeploy migration new writes them)"),
    Rule("SD503", "invalid-suppression", WARNING, "hygiene",
         "a supadeploy:ignore comment names an unknown code or gives no reason",
         "write -- supadeploy:ignore CODE why it is safe"),
    Rule("SD504", "down-file-in-migrations-folder", WARNING, "hygiene",
         "supabase db push applies a NNN_name.down.sql file in supabase/migrations/ as a migration of its own",
         "move it to supabase/migrations/down/ (the Supabase CLI ignores sub-folders), or use the -- Rollback: "
         "header"),
    Rule("SD505", "not-executable-as-written", ERROR, "hygiene",
         "the file cannot run as one all-or-nothing migration (transaction control, COPY FROM STDIN, a psql "
         "meta-command, or text the PostgreSQL lexer rejects); push refuses it before anything is applied",
         "split the file, or mark it -- supadeploy:no-transaction; see the message"),
    Rule("SD506", "supabase-cli-splits-differently", WARNING, "hygiene",
         "the Supabase CLI's splitter ends a statement here, inside what PostgreSQL reads as one string, comment "
         "or routine body: `supabase db push` would send altered SQL (supadeploy runs the file as psql does)",
         "use a plain '' string (doubled quotes) or a $$ dollar quote with an ASCII tag"),
)
RULES: dict[str, Rule] = {rule.code: rule for rule in _RULE_LIST}
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in _RULE_LIST}


def rule_for(code_or_name: str) -> Rule | None:
    return RULES.get(code_or_name.upper()) or RULES_BY_NAME.get(code_or_name.lower())


@dataclass(frozen=True)
class Hit:
    code: str
    offset: int
    message: str


@dataclass
class FileState:
    """What the statements before the current one did, in this file."""

    exposed_schemas: frozenset[str]
    created_tables: set[str] = field(default_factory=set)
    dropped_if_exists: set[tuple[str, str]] = field(default_factory=set)  # (kind, qualified name)
    lock_timeout_set: bool = False
    transactional: bool = True
    """False for files marked -- supadeploy:no-transaction."""
    not_valid_constraints: dict[str, str] = field(default_factory=dict)
    """constraint name → SD304 / SD305, for constraints this file added NOT VALID."""
    api_granted: dict[str, int] = field(default_factory=dict)
    """table (or ``schema.*``) → offset of the first GRANT of it to anon, authenticated or PUBLIC in this file."""
    default_grant_schemas: set[str] = field(default_factory=set)
    """schemas (``*``: all) whose new tables ALTER DEFAULT PRIVILEGES grants to an API role, from here on."""
    rls_enabled: set[str] = field(default_factory=set)
    policies_on: dict[str, int] = field(default_factory=dict)
    """table → offset of the first CREATE POLICY on it in this file."""

    def is_new(self, table: str) -> bool:
        return table in self.created_tables


# --- helpers -----------------------------------------------------------------------------------------


def qualified(relation: ast.RangeVar | None) -> str:
    if relation is None:
        return "?"
    return f"{relation.schemaname or 'public'}.{relation.relname}".lower()


def _name_list(names: tuple[ast.Node, ...] | None) -> str:
    parts = [n.sval or "" for n in names or () if isinstance(n, ast.String)]
    if len(parts) == 1:
        parts.insert(0, "public")
    return ".".join(parts).lower()


def _persistent(relation: ast.RangeVar | None) -> bool:
    return relation is not None and relation.relpersistence != "t"


def _guarded(statement: ParsedStatement, catalogs: tuple[str, ...], exceptions: tuple[str, ...]) -> bool:
    """True inside a DO block that checks one of ``catalogs`` first or catches one of ``exceptions``."""
    for guard in statement.guards:
        text = guard.text.lower()
        if guard.kind == "exception" and any(name in text.split() for name in (*exceptions, "others")):
            return True
        if guard.kind == "if" and any(catalog in text for catalog in catalogs):
            return True
    return False


_ANY_CATALOG = ("information_schema", "pg_", "to_regclass", "to_regtype", "to_regproc", "to_regnamespace")
_ANY_DUPLICATE = ("duplicate_object", "duplicate_table", "duplicate_column", "duplicate_schema",
                  "duplicate_function")


def _commands(statement: ParsedStatement) -> list[ast.AlterTableCmd]:
    node = statement.node
    if isinstance(node, ast.AlterTableStmt) and node.objtype in (ObjectType.OBJECT_TABLE, None):
        return [c for c in node.cmds or () if isinstance(c, ast.AlterTableCmd)]
    return []


def _constraints(definition: ast.Node | None) -> list[ast.Constraint]:
    if isinstance(definition, ast.Constraint):
        return [definition]
    if isinstance(definition, ast.ColumnDef):
        return [c for c in definition.constraints or () if isinstance(c, ast.Constraint)]
    return []


# --- idempotency -------------------------------------------------------------------------------------


def create_without_if_not_exists(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    node = statement.node
    if _guarded(statement, _ANY_CATALOG, _ANY_DUPLICATE):
        return
    what: str | None = None
    if isinstance(node, ast.CreateStmt) and not node.if_not_exists and _persistent(node.relation):
        what = f"CREATE TABLE {qualified(node.relation)}"
    elif isinstance(node, ast.IndexStmt) and not node.if_not_exists:
        what = f"CREATE INDEX {node.idxname or '(unnamed)'}"
        if not node.idxname:
            yield Hit("SD101", statement.start, "CREATE INDEX without a name creates a new index on every run; "
                      "name it and write IF NOT EXISTS")
            return
    elif isinstance(node, ast.CreateSchemaStmt) and not node.if_not_exists:
        what = f"CREATE SCHEMA {node.schemaname}"
    elif isinstance(node, ast.CreateExtensionStmt) and not node.if_not_exists:
        what = f"CREATE EXTENSION {node.extname}"
    elif isinstance(node, ast.CreateSeqStmt) and not node.if_not_exists:
        what = f"CREATE SEQUENCE {qualified(node.sequence)}"
    elif isinstance(node, ast.CreateTableAsStmt) and not node.if_not_exists and node.into is not None \
            and _persistent(node.into.rel):
        kind = "MATERIALIZED VIEW" if node.objtype == ObjectType.OBJECT_MATVIEW else "TABLE"
        what = f"CREATE {kind} {qualified(node.into.rel)}"
    if what:
        yield Hit("SD101", statement.start, f"{what} without IF NOT EXISTS fails when the migration runs twice")


def add_column_without_if_not_exists(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    if _guarded(statement, ("information_schema.columns", "pg_attribute"), ("duplicate_column",)):
        return
    for command in _commands(statement):
        if command.subtype == AlterTableType.AT_AddColumn and not command.missing_ok:
            column = command.def_
            name = column.colname if isinstance(column, ast.ColumnDef) else "?"
            yield Hit("SD102", statement.offset_of(column if isinstance(column, ast.Node) else None),
                      f"ADD COLUMN {name} without IF NOT EXISTS fails when the migration runs twice")


def create_policy_without_drop(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    node = statement.node
    if not isinstance(node, ast.CreatePolicyStmt) or _guarded(statement, ("pg_polic",), ("duplicate_object",)):
        return
    key = ("policy", f"{qualified(node.table)}.{node.policy_name}".lower())
    if key not in state.dropped_if_exists:
        yield Hit("SD103", statement.start, f'CREATE POLICY "{node.policy_name}" on {qualified(node.table)} has no '
                  "DROP POLICY IF EXISTS before it in this file: it fails when the migration runs twice")


def create_type_not_guarded(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    node = statement.node
    name: str | None = None
    if isinstance(node, ast.CreateEnumStmt):
        name = _name_list(node.typeName)
    elif isinstance(node, ast.CompositeTypeStmt):
        name = qualified(node.typevar)
    elif isinstance(node, ast.CreateDomainStmt):
        name = _name_list(node.domainname)
    elif isinstance(node, ast.CreateRangeStmt):
        name = _name_list(node.typeName)
    if name is None or _guarded(statement, ("pg_type", "to_regtype"), ("duplicate_object",)):
        return
    if ("type", name) in state.dropped_if_exists:
        return
    yield Hit("SD104", statement.start, f"CREATE TYPE {name} is not guarded: it fails when the migration runs twice")


def create_without_or_replace(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    node = statement.node
    if _guarded(statement, _ANY_CATALOG, _ANY_DUPLICATE):
        return
    if isinstance(node, ast.CreateFunctionStmt) and not node.replace:
        name = _name_list(node.funcname)
        kind = "PROCEDURE" if node.is_procedure else "FUNCTION"
        if ("function", name) not in state.dropped_if_exists:
            yield Hit("SD105", statement.start, f"CREATE {kind} {name} without OR REPLACE fails when the migration "
                      "runs twice")
    elif isinstance(node, ast.CreateTrigStmt) and not node.replace:
        key = ("trigger", f"{qualified(node.relation)}.{node.trigname}".lower())
        if key not in state.dropped_if_exists:
            yield Hit("SD105", statement.start, f"CREATE TRIGGER {node.trigname} without OR REPLACE (or DROP TRIGGER "
                      "IF EXISTS before it) fails when the migration runs twice")
    elif isinstance(node, ast.ViewStmt) and not node.replace:
        name = qualified(node.view)
        if ("view", name) not in state.dropped_if_exists:
            yield Hit("SD105", statement.start, f"CREATE VIEW {name} without OR REPLACE fails when the migration "
                      "runs twice")


# --- destructive -------------------------------------------------------------------------------------

_DROP_CODES = {
    ObjectType.OBJECT_TABLE: ("SD201", "DROP TABLE"),
    ObjectType.OBJECT_SCHEMA: ("SD203", "DROP SCHEMA"),
    ObjectType.OBJECT_TYPE: ("SD204", "DROP TYPE"),
    ObjectType.OBJECT_DOMAIN: ("SD204", "DROP DOMAIN"),
}


def drop_object(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    node = statement.node
    if not isinstance(node, ast.DropStmt) or node.removeType not in _DROP_CODES:
        return
    code, verb = _DROP_CODES[node.removeType]
    for obj in node.objects or ():
        names = obj if isinstance(obj, tuple) else (obj,)
        if isinstance(obj, ast.TypeName):
            names = obj.names or ()
        if node.removeType == ObjectType.OBJECT_SCHEMA and isinstance(obj, ast.String):
            name = obj.sval
        else:
            name = _name_list(tuple(n for n in names if isinstance(n, ast.String)))
        if code == "SD201" and name in state.created_tables:
            continue
        cascade = " CASCADE" if node.behavior == 1 else ""
        yield Hit(code, statement.start, f"{verb} {name}{cascade} is destructive")


def drop_column(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    node = statement.node
    table = qualified(getattr(node, "relation", None))
    for index, command in enumerate(c for c in _commands(statement) if c.subtype == AlterTableType.AT_DropColumn):
        if state.is_new(table):
            continue
        offset = statement.find(r"\bdrop\b(?!\s+(constraint|default|not|identity|expression))", index)
        yield Hit("SD202", offset, f"DROP COLUMN {table}.{command.name} deletes the column and its data")


def truncate(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    node = statement.node
    if isinstance(node, ast.TruncateStmt):
        tables = [qualified(r) for r in node.relations or () if isinstance(r, ast.RangeVar)]
        existing = [t for t in tables if not state.is_new(t)]
        if existing:
            yield Hit("SD205", statement.start, f"TRUNCATE {', '.join(existing)} deletes every row")


def delete_or_update_without_where(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    node = statement.node
    if isinstance(node, ast.DeleteStmt) and node.whereClause is None and not state.is_new(qualified(node.relation)):
        yield Hit("SD206", statement.start, f"DELETE FROM {qualified(node.relation)} without WHERE deletes every row")
    if isinstance(node, ast.UpdateStmt) and node.whereClause is None and not state.is_new(qualified(node.relation)):
        yield Hit("SD207", statement.start, f"UPDATE {qualified(node.relation)} without WHERE rewrites every row")


def alter_column_type(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    table = qualified(getattr(statement.node, "relation", None))
    if state.is_new(table):
        return
    changes = [c for c in _commands(statement) if c.subtype == AlterTableType.AT_AlterColumnType]
    for index, command in enumerate(changes):
        offset = statement.find(r"\b(set\s+data\s+)?type\b", index)
        yield Hit("SD208", offset, f"ALTER COLUMN {table}.{command.name} TYPE rewrites the table and can break "
                  "clients")


def rename(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    node = statement.node
    if not isinstance(node, ast.RenameStmt) or state.is_new(qualified(node.relation)):
        return
    if node.renameType == ObjectType.OBJECT_TABLE:
        yield Hit("SD209", statement.start, f"renaming table {qualified(node.relation)} to {node.newname} breaks "
                  "deployed clients")
    elif node.renameType == ObjectType.OBJECT_COLUMN and node.relationType in (ObjectType.OBJECT_TABLE,
                                                                                ObjectType.OBJECT_VIEW):
        yield Hit("SD210", statement.start, f"renaming column {qualified(node.relation)}.{node.subname} to "
                  f"{node.newname} breaks deployed clients")


# --- locking hazards ---------------------------------------------------------------------------------


def index_without_concurrently(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    node = statement.node
    if isinstance(node, ast.IndexStmt) and not node.concurrent and not state.is_new(qualified(node.relation)):
        yield Hit("SD301", statement.start, f"CREATE INDEX on existing table {qualified(node.relation)} without "
                  "CONCURRENTLY blocks writes while it builds")


def add_column_not_null_without_default(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    table = qualified(getattr(statement.node, "relation", None))
    if state.is_new(table):
        return
    for command in _commands(statement):
        column = command.def_
        if command.subtype != AlterTableType.AT_AddColumn or not isinstance(column, ast.ColumnDef):
            continue
        kinds = {c.contype for c in _constraints(column)}
        if ConstrType.CONSTR_NOTNULL in kinds and not kinds & {ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_IDENTITY,
                                                                ConstrType.CONSTR_GENERATED}:
            yield Hit("SD302", statement.offset_of(column), f"ADD COLUMN {column.colname} NOT NULL without a DEFAULT "
                      f"fails when {table} has rows")


def set_not_null(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    table = qualified(getattr(statement.node, "relation", None))
    if state.is_new(table):
        return
    commands = [c for c in _commands(statement) if c.subtype == AlterTableType.AT_SetNotNull]
    for index, command in enumerate(commands):
        yield Hit("SD303", statement.find(r"\bset\s+not\s+null\b", index),
                  f"SET NOT NULL on {table}.{command.name} scans the table under an ACCESS EXCLUSIVE lock")


def constraint_without_not_valid(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    table = qualified(getattr(statement.node, "relation", None))
    if state.is_new(table):
        return
    validations = 0
    for command in _commands(statement):
        if command.subtype == AlterTableType.AT_ValidateConstraint and command.name in state.not_valid_constraints \
                and state.transactional:
            offset = statement.find(r"\bvalidate\s+constraint\b", validations)
            validations += 1
            yield Hit(state.not_valid_constraints[command.name], offset,
                      f"VALIDATE CONSTRAINT {command.name} in the same transaction that added it NOT VALID holds the "
                      "ACCESS EXCLUSIVE lock during validation: validate it in a later migration")
            continue
        if command.subtype != AlterTableType.AT_AddConstraint:
            continue
        for constraint in _constraints(command.def_ if isinstance(command.def_, ast.Node) else None):
            if constraint.skip_validation:
                if constraint.conname and constraint.contype in (ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK):
                    state.not_valid_constraints[constraint.conname] = (
                        "SD304" if constraint.contype == ConstrType.CONSTR_FOREIGN else "SD305")
                continue
            if constraint.contype == ConstrType.CONSTR_FOREIGN:
                yield Hit("SD304", statement.offset_of(constraint), f"ADD FOREIGN KEY on {table} without NOT VALID "
                          "validates every row while locking both tables")
            elif constraint.contype == ConstrType.CONSTR_CHECK:
                yield Hit("SD305", statement.offset_of(constraint), f"ADD CHECK on {table} without NOT VALID "
                          "validates every row under an ACCESS EXCLUSIVE lock")


def _locks_existing_table(statement: ParsedStatement, state: FileState) -> str | None:
    node = statement.node
    table: str | None = None
    if isinstance(node, (ast.AlterTableStmt, ast.RenameStmt, ast.CreateTrigStmt)) \
            or (isinstance(node, ast.IndexStmt) and not node.concurrent):
        table = qualified(node.relation)
    elif isinstance(node, (ast.CreatePolicyStmt, ast.AlterPolicyStmt)):
        table = qualified(node.table)
    elif isinstance(node, ast.TruncateStmt):
        table = next((qualified(r) for r in node.relations or () if isinstance(r, ast.RangeVar)), None)
    elif isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_TABLE:
        table = next((name for name in (_name_list(o if isinstance(o, tuple) else (o,)) for o in node.objects or ())
                      if not state.is_new(name)), None)
    elif isinstance(node, ast.CreateStmt):  # a foreign key locks the referenced table
        table = next((qualified(c.pktable) for c in walk(node.tableElts) if isinstance(c, ast.Constraint)
                      and c.contype == ConstrType.CONSTR_FOREIGN and not state.is_new(qualified(c.pktable))), None)
    if table is None or state.is_new(table):
        return None
    return table


def missing_lock_timeout(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    if state.lock_timeout_set:
        return
    table = _locks_existing_table(statement, state)
    if table is not None:
        state.lock_timeout_set = True  # report once per file
        yield Hit("SD306", statement.start, f"this statement locks existing table {table} and no lock_timeout is set")


# --- security ----------------------------------------------------------------------------------------


def policy_trusts_user_metadata(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    node = statement.node
    if not isinstance(node, (ast.CreatePolicyStmt, ast.AlterPolicyStmt)):
        return
    for expression in (node.qual, node.with_check):
        for child in walk(expression):
            mentioned = None
            if isinstance(child, ast.A_Const) and isinstance(child.val, ast.String):
                mentioned = child.val.sval
            elif isinstance(child, ast.ColumnRef):
                names = [f.sval for f in child.fields or () if isinstance(f, ast.String)]
                mentioned = names[-1] if names else None
            if mentioned and mentioned.lower() in ("user_metadata", "raw_user_meta_data"):
                # A_Const carries no location in the parse tree: find the literal in the statement's text.
                literal = statement.text.find(f"'{mentioned}'") if isinstance(child, ast.A_Const) \
                    and not statement.pinned else -1
                offset = statement.start + literal if literal >= 0 else statement.offset_of(child)
                yield Hit("SD402", offset, f'policy "{node.policy_name}" trusts {mentioned}, '
                          "which users can set for themselves")
                return


_WRITE_PRIVILEGES = {"insert", "update", "delete", "truncate"}


def anon_write_grant(statement: ParsedStatement, state: FileState) -> Iterator[Hit]:
    node = statement.node
    grant = node.action if isinstance(node, ast.AlterDefaultPrivilegesStmt) else node
    if not isinstance(grant, ast.GrantStmt) or not grant.is_grant or grant.objtype != ObjectType.OBJECT_TABLE:
        return
    grantees = []
    for role in grant.grantees or ():
        if isinstance(role, ast.RoleSpec):
            if role.roletype == RoleSpecType.ROLESPEC_PUBLIC:
                grantees.append("PUBLIC")
            elif (role.rolename or "").lower() == "anon":
                grantees.append("anon")
    if not grantees:
        return
    privileges = {p.priv_name.lower() for p in grant.privileges or () if isinstance(p, ast.AccessPriv) and p.priv_name}
    written = sorted(privileges & _WRITE_PRIVILEGES) if grant.privileges else ["all"]
    if written:
        yield Hit("SD403", statement.start, f"GRANT {', '.join(p.upper() for p in written)} to "
                  f"{' and '.join(grantees)}: Row Level Security is then the only barrier against writes")


# --- registry and state ------------------------------------------------------------------------------

StatementRule = Callable[[ParsedStatement, FileState], Iterator[Hit]]

STATEMENT_RULES: tuple[StatementRule, ...] = (
    create_without_if_not_exists, add_column_without_if_not_exists, create_policy_without_drop,
    create_type_not_guarded, create_without_or_replace,
    drop_object, drop_column, truncate, delete_or_update_without_where, alter_column_type, rename,
    index_without_concurrently, add_column_not_null_without_default, set_not_null, constraint_without_not_valid,
    missing_lock_timeout, policy_trusts_user_metadata, anon_write_grant,
)


def observe(statement: ParsedStatement, state: FileState) -> None:
    """Record what ``statement`` did, for the rules applied to the statements after it."""
    node = statement.node
    _observe_access(statement, state)
    if isinstance(node, ast.CreateStmt):
        state.created_tables.add(qualified(node.relation))
    elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        state.created_tables.add(qualified(node.into.rel))
    elif isinstance(node, ast.DropStmt) and node.missing_ok:
        _observe_drop(node, state)
    elif isinstance(node, ast.RenameStmt) and node.renameType == ObjectType.OBJECT_TABLE and node.newname \
            and qualified(node.relation) in state.created_tables:
        state.created_tables.add(f"{qualified(node.relation).split('.')[0]}.{node.newname.lower()}")
    elif isinstance(node, ast.VariableSetStmt) and (node.name or "").lower() == "lock_timeout":
        state.lock_timeout_set = True
    elif isinstance(node, ast.SelectStmt):
        for child in walk(node.targetList):
            if isinstance(child, ast.FuncCall) and _name_list(child.funcname).endswith("set_config") and child.args \
                    and isinstance(child.args[0], ast.A_Const) and isinstance(child.args[0].val, ast.String) \
                    and (child.args[0].val.sval or "").lower() == "lock_timeout":
                state.lock_timeout_set = True


_DROP_KINDS = {
    ObjectType.OBJECT_POLICY: "policy", ObjectType.OBJECT_TRIGGER: "trigger", ObjectType.OBJECT_VIEW: "view",
    ObjectType.OBJECT_FUNCTION: "function", ObjectType.OBJECT_PROCEDURE: "function", ObjectType.OBJECT_TYPE: "type",
    ObjectType.OBJECT_DOMAIN: "type", ObjectType.OBJECT_TABLE: "table",
}


def _observe_drop(node: ast.DropStmt, state: FileState) -> None:
    kind = _DROP_KINDS.get(node.removeType) if node.removeType is not None else None
    if kind is None:
        return
    for obj in node.objects or ():
        if isinstance(obj, ast.ObjectWithArgs):
            names: tuple[ast.Node, ...] = obj.objname or ()
        elif isinstance(obj, ast.TypeName):
            names = obj.names or ()
        else:
            names = obj if isinstance(obj, tuple) else (obj,)
        parts = [n.sval or "" for n in names if isinstance(n, ast.String)]
        if kind in ("policy", "trigger"):  # (schema., table, name)
            table = ".".join(parts[:-1]) if len(parts) > 2 else f"public.{parts[0]}" if parts else "?"
            state.dropped_if_exists.add((kind, f"{table}.{parts[-1]}".lower()))
        else:
            state.dropped_if_exists.add((kind, _name_list(tuple(n for n in names if isinstance(n, ast.String)))))


_API_GRANTEES = ("anon", "authenticated")


def _grants_to_api_role(grant: ast.GrantStmt) -> bool:
    return bool(grant.is_grant) and grant.objtype == ObjectType.OBJECT_TABLE and any(
        isinstance(role, ast.RoleSpec) and (role.roletype == RoleSpecType.ROLESPEC_PUBLIC
                                            or (role.rolename or "").lower() in _API_GRANTEES)
        for role in grant.grantees or ())


def _default_privilege_schemas(node: ast.AlterDefaultPrivilegesStmt) -> list[str]:
    for option in node.options or ():
        if isinstance(option, ast.DefElem) and option.defname == "schemas" and isinstance(option.arg, tuple):
            return [name.sval.lower() for name in option.arg if isinstance(name, ast.String) and name.sval]
    return ["*"]


def tables_granted_to_api(statement: ParsedStatement) -> list[str]:
    """Tables a GRANT gives anon, authenticated or PUBLIC some privilege on; ``schema.*`` for ALL TABLES IN
    SCHEMA and for the default privileges of a schema (``*.*``: of every schema)."""
    node = statement.node
    if isinstance(node, ast.AlterDefaultPrivilegesStmt) and isinstance(node.action, ast.GrantStmt):
        return [f"{schema}.*" for schema in _default_privilege_schemas(node)] \
            if _grants_to_api_role(node.action) else []
    if not isinstance(node, ast.GrantStmt) or not _grants_to_api_role(node):
        return []
    if node.targtype == GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
        return [f"{name.sval.lower()}.*" for name in node.objects or () if isinstance(name, ast.String) and name.sval]
    return [qualified(relation) for relation in node.objects or () if isinstance(relation, ast.RangeVar)]


def _observe_access(statement: ParsedStatement, state: FileState) -> None:
    """Grants, RLS and policies of the tables this file creates (SD404, SD405)."""
    node = statement.node
    if isinstance(node, ast.AlterDefaultPrivilegesStmt):
        state.default_grant_schemas.update(name.split(".")[0] for name in tables_granted_to_api(statement))
        return
    for name in tables_granted_to_api(statement):
        schema, _, table = name.partition(".")
        granted = [t for t in state.created_tables if t.startswith(f"{schema}.")] if table == "*" else [name]
        for created in granted:
            state.api_granted.setdefault(created, statement.start)
    for table, _ in tables_created(statement):
        if state.default_grant_schemas & {"*", table.split(".")[0]}:
            state.api_granted.setdefault(table, statement.start)
    state.rls_enabled.update(tables_with_rls_enabled(statement))
    if isinstance(node, ast.CreatePolicyStmt) and node.table is not None:
        state.policies_on.setdefault(qualified(node.table), statement.start)


def access_hits(state: FileState, granted_later: Callable[[str], bool]) -> Iterator[Hit]:
    """SD404 and SD405, once the whole file was observed. ``granted_later(table)``: a later migration grants
    it to an API role."""
    for table, offset in sorted(state.api_granted.items(), key=lambda item: item[1]):
        if table in state.created_tables and table.split(".")[0] in state.exposed_schemas \
                and table not in state.rls_enabled:
            yield Hit("SD404", offset, f"table {table} is granted to the Data API roles in this migration, which "
                      "does not enable Row Level Security on it: every row is open once it is applied")
    for table, offset in sorted(state.policies_on.items(), key=lambda item: item[1]):
        if table in state.created_tables and table.split(".")[0] in state.exposed_schemas \
                and table not in state.api_granted and not granted_later(table):
            yield Hit("SD405", offset, f"table {table} has policies but no migration grants it to anon or "
                      "authenticated: on Supabase today it is unreachable through the Data API (permission denied)")


def tables_created(statement: ParsedStatement) -> list[tuple[str, ast.RangeVar]]:
    """Tables (not temporary) a statement creates, for the RLS rule."""
    node = statement.node
    if isinstance(node, ast.CreateStmt) and node.relation is not None and _persistent(node.relation):
        return [(qualified(node.relation), node.relation)]
    if isinstance(node, ast.CreateTableAsStmt) and node.objtype == ObjectType.OBJECT_TABLE and node.into is not None \
            and node.into.rel is not None and _persistent(node.into.rel):
        return [(qualified(node.into.rel), node.into.rel)]
    return []


def table_renames(statement: ParsedStatement) -> list[tuple[str, str]]:
    """(old, new) qualified names of a table renamed by ``statement``."""
    node = statement.node
    if isinstance(node, ast.RenameStmt) and node.renameType == ObjectType.OBJECT_TABLE and node.newname:
        old = qualified(node.relation)
        return [(old, f"{old.split('.')[0]}.{node.newname.lower()}")]
    return []


def tables_with_rls_enabled(statement: ParsedStatement) -> list[str]:
    return [qualified(getattr(statement.node, "relation", None)) for c in _commands(statement)
            if c.subtype in (AlterTableType.AT_EnableRowSecurity, AlterTableType.AT_ForceRowSecurity)]
