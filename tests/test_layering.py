"""Layering rules checked over src/: one writer of the migration history and the deploy log (issue 14)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "supadeploy"
HISTORY_WRITERS = {SOURCE / "migrations" / "history.py", SOURCE / "migrations" / "deploy_log_sql.py"}
_TABLE = (r"(?:\{HISTORY_TABLE\}|\{DEPLOYMENTS_TABLE\}|\{HISTORY_SCHEMA\}\.\w+|"
          r"supabase_migrations\.(?:schema_migrations|supadeploy_deployments))")
SQL_ON_HISTORY = re.compile(
    rf"(?:(?i:delete\s+from|insert\s+into|alter\s+table|create\s+table(?:\s+if\s+not\s+exists)?|update)\s+{_TABLE}"
    rf"|\b(?:FROM|JOIN)\s+{_TABLE}|to_regclass\('{_TABLE}'\)|'{_TABLE}'::regclass)")


def string_texts(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal of a module; an f-string with its {NAME} parts kept as written."""
    texts: list[tuple[int, str]] = []
    inside_fstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inside_fstrings.add(id(value))
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value)
                elif isinstance(value, ast.FormattedValue):
                    parts.append("{" + ast.unparse(value.value) + "}")
            texts.append((node.lineno, "".join(parts)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside_fstrings:
            texts.append((node.lineno, node.value))
    return texts


def test_the_history_and_the_deploy_log_are_written_in_one_place() -> None:
    """No module outside migrations/history.py and migrations/deploy_log_sql.py holds SQL on
    supabase_migrations.schema_migrations or the deploy log: the targets run the statements those two hold."""
    offenders = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path in HISTORY_WRITERS:
            continue
        for line, text in string_texts(ast.parse(path.read_text(encoding="utf-8"))):
            match = SQL_ON_HISTORY.search(text)
            if match:
                offenders.append(f"{path.relative_to(SOURCE.parent)}:{line}: {match.group(0)}")
    assert offenders == []


def test_the_check_finds_such_sql() -> None:
    found = [text for _, text in string_texts(ast.parse(
        'A = f"DELETE FROM {HISTORY_TABLE} WHERE version = %s"\n'
        'B = "SELECT id FROM supabase_migrations.supadeploy_deployments"\n'
        'C = f"cannot create the migration history table {HISTORY_TABLE} on {self.description}"\n'))
             if SQL_ON_HISTORY.search(text)]
    assert found == ["DELETE FROM {HISTORY_TABLE} WHERE version = %s",
                     "SELECT id FROM supabase_migrations.supadeploy_deployments"]


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (at any depth of the file: commands import inside functions)."""
    modules: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.append((node.lineno, node.module))
    return modules


def test_the_cli_layer_holds_no_database_or_http_client() -> None:
    """cli/ is flags, rendering and exit codes: psycopg and httpx are used only below it."""
    offenders = [f"{path.relative_to(SOURCE.parent)}:{line}: {module}"
                 for path in sorted((SOURCE / "cli").rglob("*.py"))
                 for line, module in imported_modules(path)
                 if module.split(".")[0] in ("psycopg", "httpx")]
    assert offenders == []


def test_nothing_below_the_cli_imports_it() -> None:
    """The library never reaches up into cli/ (only the entry point, supadeploy/__main__.py, starts it)."""
    offenders = [f"{path.relative_to(SOURCE.parent)}:{line}: {module}"
                 for path in sorted(SOURCE.rglob("*.py"))
                 if SOURCE / "cli" not in path.parents and path != SOURCE / "__main__.py"
                 for line, module in imported_modules(path)
                 if module == "supadeploy.cli" or module.startswith("supadeploy.cli.")]
    assert offenders == []


# What only the commands layer (and below) may do: reach a database or the Management API, lock, back up,
# write the deploy log. cli/ gets data back from supadeploy.commands and renders it.
BELOW_THE_COMMANDS = ("supadeploy.targets", "supadeploy.engines", "supadeploy.deploylog", "supadeploy.management_api",
                      "supadeploy.backup", "supadeploy.pipeline", "supadeploy.deploy", "supadeploy.hosted",
                      "supadeploy.github_api")
TARGET_METHODS = {"query", "query_rolled_back", "read_history", "ensure_history_table", "acquire_deploy_lock",
                  "release_deploy_lock", "apply_migration", "edit_history", "read_texts"}


def test_the_cli_layer_reaches_environments_only_through_the_commands_layer() -> None:
    offenders = [f"{path.relative_to(SOURCE.parent)}:{line}: {module}"
                 for path in sorted((SOURCE / "cli").rglob("*.py"))
                 for line, module in imported_modules(path)
                 if _is_below_the_commands(module) and not _type_only(path, module)]
    calls = [f"{path.relative_to(SOURCE.parent)}:{node.lineno}: .{node.func.attr}()"
             for path in sorted((SOURCE / "cli").rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and node.func.attr in TARGET_METHODS]
    assert offenders + calls == []


def _is_below_the_commands(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in BELOW_THE_COMMANDS)


def _type_only(path: Path, module: str) -> bool:
    """``module`` is imported only under ``if TYPE_CHECKING:`` in ``path`` (for annotations)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded = {id(child) for node in ast.walk(tree)
               if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
               for child in ast.walk(node)}
    return all(id(node) in guarded for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and node.module == module)


def test_every_command_has_a_library_entry() -> None:
    """Each command that reaches an environment runs through supadeploy.commands (a run_* function)."""
    entries = {name for path in (SOURCE / "commands").glob("*.py")
               for name in re.findall(r"^def (run_\w+)\(", path.read_text(encoding="utf-8"), re.MULTILINE)}
    assert {"run_push", "run_promote", "run_rollback", "run_baseline", "run_repair", "run_reconcile",
            "run_history", "run_migration_list", "run_diff", "run_status", "run_verify_command",
            "run_write_manifest", "run_types", "run_check", "run_link", "run_projects",
            "run_local_reset", "run_fleet_push", "run_fleet_status"} <= entries
