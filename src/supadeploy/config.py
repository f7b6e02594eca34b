"""supadeploy.toml and environment variables, turned into typed settings.

```toml
[project]
default_environment = "local"
migrations_dir = "supabase/migrations"   # e.g. "backend/migrations"; relative to the project folder

[push]
lock_timeout = "10s"        # per statement of a migration
statement_timeout = "0"     # 0 = no limit
deploy_lock_wait = "300s"   # how long a push waits for another push to finish

[environments.local]
db_url = "postgresql://postgres:postgres@127.0.0.1:54322/postgres"

[environments.staging]
db_url_env = "STAGING_DB_URL"
project_ref = "abcdefghijklmnopqrst"

[environments.production]
db_url_env = "PRODUCTION_DB_URL"
protected = true
```
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from supadeploy.errors import ConfigError

CONFIG_FILE_NAME = "supadeploy.toml"
LOCAL_DB_URL = "postgresql://postgres:postgres@127.0.0.1:54322/postgres"
DEFAULT_ENVIRONMENT = "local"
# The hosted project's database password, as the Supabase CLI names it.
PASSWORD_VARIABLE = "SUPABASE_DB_PASSWORD"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", ""})

_ENVIRONMENT_KEYS = {"db_url": str, "db_url_env": str, "project_ref": str, "protected": bool, "engine": str}
ENGINES = ("native", "api", "cli")
_PUSH_KEYS = {"lock_timeout": str, "statement_timeout": str, "deploy_lock_wait": str, "backup_dir": str,
              "require_clean_git": bool, "keep_backups": int}
_PROJECT_KEYS = {"default_environment": str, "migrations_dir": str}
DEFAULT_MIGRATIONS_DIR = "supabase/migrations"
EXAMPLE_STRING = '"..."'
_KINDS = {bool: ("boolean", "true"), str: ("string", EXAMPLE_STRING), int: ("whole number", "5")}
# Sections validated by the capability that owns them.
CAPABILITY_SECTIONS = ("api", "verify", "types", "lint", "fleets")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h)?\s*$")
# INT_MAX milliseconds: the most lock_timeout and statement_timeout accept (the deploy lock wait is a lock_timeout).
POSTGRES_MAX_TIMEOUT_MS = 2_147_483_647


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    db_url: str | None = None
    db_url_env: str | None = None
    project_ref: str | None = None
    protected: bool = False
    engine: str | None = None
    """native, api or cli; None: inferred from what is configured (supadeploy.targets.resolve)."""


@dataclass(frozen=True)
class PushSettings:
    lock_timeout: str = "10s"
    statement_timeout: str = "0"
    deploy_lock_wait_seconds: float = 300.0
    backup_dir: str = ".supadeploy/backups"  # pg_dump files before deploys to protected environments
    require_clean_git: bool = False  # refuse to deploy to a protected environment from a dirty work tree
    keep_backups: int | None = None  # pg_dump backups kept per environment (None: all)


@dataclass(frozen=True)
class ProjectConfig:
    workdir: Path
    config_path: Path | None
    default_environment: str = DEFAULT_ENVIRONMENT
    environments: dict[str, EnvironmentConfig] = field(default_factory=dict)
    push: PushSettings = field(default_factory=PushSettings)
    migrations_folder: str = DEFAULT_MIGRATIONS_DIR
    """[project] migrations_dir, as written (relative to ``workdir``)."""
    # Sections owned by a capability ([verify], [types], ...): kept raw here, validated by that capability
    # with `section_error` so its messages name supadeploy.toml:line like every other.
    extra_sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        return self.extra_sections.get(name, {})

    def section_error(self, message: str, *, key: str, fix: str, occurrence: int = 0) -> ConfigError:
        """A ConfigError at the line of ``key`` (its ``occurrence``-th appearance, from 0: e.g. the third
        ``[[verify.accept]]`` is key="accept", occurrence=2)."""
        where = _line_of(self.config_path, key, occurrence) if self.config_path else CONFIG_FILE_NAME
        return ConfigError(message, where=where, fix=fix)

    def value_error(self, message: str, *, value: str, fix: str) -> ConfigError:
        """A ConfigError at the first line holding ``value`` (e.g. one of several configured paths)."""
        where = _line_of_value(self.config_path, value) if self.config_path else CONFIG_FILE_NAME
        return ConfigError(message, where=where, fix=fix)

    @property
    def migrations_dir(self) -> Path:
        """The migrations folder ([project] migrations_dir), one spelling for every command and message."""
        return self.workdir / self.migrations_folder

    def environment(self, name: str | None) -> EnvironmentConfig:
        chosen = name or self.default_environment
        if chosen in self.environments:
            return self.environments[chosen]
        if chosen == DEFAULT_ENVIRONMENT:
            return EnvironmentConfig(name=DEFAULT_ENVIRONMENT, db_url=LOCAL_DB_URL)
        known = ", ".join(sorted(self.environments)) or "none"
        raise ConfigError(
            f"unknown environment '{chosen}' (configured: {known})",
            where=str(self.config_path or CONFIG_FILE_NAME),
            fix=f"add [environments.{chosen}] to {CONFIG_FILE_NAME}, or pass --db-url",
        )


def parse_duration_seconds(value: str, *, where: str) -> float:
    """'300s', '5min', '250ms', '2h' or a bare number of seconds."""
    match = _DURATION.match(value)
    if not match:
        raise ConfigError(f"'{value}' is not a duration", where=where, fix="write it like '10s', '500ms' or '5min'")
    number = float(match.group(1))
    factor = {"ms": 0.001, "s": 1.0, None: 1.0, "min": 60.0, "m": 60.0, "h": 3600.0}[match.group(2)]
    return number * factor


def postgres_duration(value: str, *, where: str, key: str = "timeout") -> str:
    """A duration as Postgres settings accept it ('10s', '500ms', '0'); ConfigError for one Postgres would refuse,
    or read as 'no limit' when it is not 0."""
    milliseconds = postgres_milliseconds(value, where=where, key=key)
    if milliseconds == 0 and parse_duration_seconds(value, where=where):
        raise ConfigError(f"{key} = '{value}' is less than a millisecond, which Postgres reads as no limit",
                          where=where, fix=f"write {key} = \"1ms\" or more (\"0\" for no limit)")
    return f"{milliseconds}ms" if milliseconds else "0"


def postgres_milliseconds(value: str, *, where: str, key: str = "timeout") -> int:
    """A duration in whole milliseconds, refused above what Postgres's timeouts accept."""
    milliseconds = round(parse_duration_seconds(value, where=where) * 1000)
    if milliseconds > POSTGRES_MAX_TIMEOUT_MS:
        raise ConfigError(f"{key} = '{value}' is more than Postgres allows "
                          f"({POSTGRES_MAX_TIMEOUT_MS}ms, about 24 days)", where=where,
                          fix=f"write a shorter {key}, e.g. \"10min\"")
    return milliseconds


def load_project(workdir: Path) -> ProjectConfig:
    """Read supadeploy.toml from ``workdir`` (defaults when the file does not exist)."""
    workdir = workdir.resolve()
    if not workdir.is_dir():
        raise ConfigError(f"project directory {workdir} does not exist",
                          fix="pass --workdir DIR pointing at your project")
    path = workdir / CONFIG_FILE_NAME
    if not path.exists():
        return ProjectConfig(workdir=workdir, config_path=None)
    from supadeploy.toml_files import parse_toml_text, read_text

    text = read_text(path)
    key = (workdir, text)
    project = _loaded.get(key)
    if project is None:
        project = _project_from_document(workdir, path, parse_toml_text(path, text))
        if len(_loaded) > 8:
            _loaded.clear()
        _loaded[key] = project
    return _with_fleet_members(project)


_loaded: dict[tuple[Path, str], ProjectConfig] = {}
"""The projects last loaded, by folder and supadeploy.toml text: a fleet rollout loads the project again for
each member (20 ms with a thousand environments)."""


def _with_fleet_members(project: ProjectConfig) -> ProjectConfig:
    """``project`` with the environments of its fleets' members files (read each time: they change apart from
    supadeploy.toml)."""
    fleets = project.section("fleets")
    if project.config_path is None or not any(isinstance(table, dict) and "members_file" in table
                                              for table in fleets.values()):
        return project
    from supadeploy.fleet_members import member_environments

    added = member_environments(project.workdir, project.config_path, fleets, project.environments)
    return replace(project, environments={**project.environments, **added})


def _line_of(path: Path, key: str, occurrence: int = 0, *, section: str | None = None) -> str:
    """Best-effort file:line for a key (a ``key =`` line, or a ``[...key]`` / ``[[...key]]`` header), for error
    messages; ``occurrence`` counts earlier appearances to skip; ``section`` (e.g. ``environments.staging``)
    looks only inside that table, so staging's db_url is not found on local's line."""
    current: list[str | None] = [None]

    def names_key(stripped: str) -> bool:
        if stripped.startswith("["):
            current[0] = stripped.strip("[]").strip()
        if section is not None and current[0] != section:
            return False
        return stripped.startswith((f"{key} ", f"{key}=")) or stripped.endswith((f".{key}]", f".{key}]]")) \
            or stripped in (f"[{key}]", f"[[{key}]]")

    found = _first_line(path, names_key, occurrence)
    return found if found != str(path) or section is None else _line_of(path, key, occurrence)


def _line_of_value(path: Path, value: str) -> str:
    return _first_line(path, lambda stripped: value in stripped)


def _first_line(path: Path, matches: Callable[[str], bool], skip: int = 0) -> str:
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if matches(line.strip()):
                if not skip:
                    return f"{path}:{number}"
                skip -= 1
    except OSError:
        pass
    return str(path)


class _AnyKeys(dict[str, type]):
    """Marker: a capability section whose keys its owner validates."""


_ANY_KEYS = _AnyKeys()


def _check_table(path: Path, table_name: str, table: Any, allowed: Mapping[str, type]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"[{table_name}] must be a table", where=_line_of(path, table_name.split(".")[-1]),
                          fix=f"write it as a [{table_name}] section")
    if isinstance(allowed, _AnyKeys):
        return table
    for key, value in table.items():
        if key not in allowed:
            raise ConfigError(
                f"unknown key '{key}' in [{table_name}]", where=_line_of(path, key, section=table_name),
                fix=f"allowed keys: {', '.join(sorted(allowed))}",
            )
        expected = allowed[key]
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            kind, example = _KINDS[expected]
            raise ConfigError(f"'{key}' in [{table_name}] must be a {kind}",
                              where=_line_of(path, key, section=table_name),
                              fix=f"for example: {key} = {example}")
    return table


def _project_from_document(workdir: Path, path: Path, document: dict[str, Any]) -> ProjectConfig:
    known_sections = {"project", "push", "environments", *CAPABILITY_SECTIONS}
    for section in document:
        if section not in known_sections:
            raise ConfigError(f"unknown section [{section}]", where=_line_of(path, section),
                              fix=f"known sections: {', '.join(sorted(known_sections))}")
    project = _check_table(path, "project", document.get("project", {}), _PROJECT_KEYS)
    push_table = _check_table(path, "push", document.get("push", {}), _PUSH_KEYS)
    environments_table = document.get("environments", {})
    if not isinstance(environments_table, dict):
        raise ConfigError("[environments] must be a table of tables", where=_line_of(path, "environments"),
                          fix="write [environments.local], [environments.staging], ...")
    environments = {
        name: _environment(path, name, table) for name, table in environments_table.items()
    }
    deploy_lock_wait = push_table.get("deploy_lock_wait", "300s")
    push = PushSettings(
        lock_timeout=push_table.get("lock_timeout", PushSettings.lock_timeout),
        statement_timeout=push_table.get("statement_timeout", PushSettings.statement_timeout),
        deploy_lock_wait_seconds=postgres_milliseconds(
            deploy_lock_wait, where=_line_of(path, "deploy_lock_wait"), key="deploy_lock_wait") / 1000,
        backup_dir=push_table.get("backup_dir", PushSettings.backup_dir),
        require_clean_git=push_table.get("require_clean_git", PushSettings.require_clean_git),
        keep_backups=_keep_backups(path, push_table.get("keep_backups")),
    )
    for key in ("lock_timeout", "statement_timeout"):
        postgres_duration(getattr(push, key), where=_line_of(path, key), key=key)
    default_environment = project.get("default_environment", DEFAULT_ENVIRONMENT)
    extra_sections = {
        name: _check_table(path, name, document[name], _ANY_KEYS) for name in CAPABILITY_SECTIONS if name in document
    }
    config = ProjectConfig(workdir=workdir, config_path=path, default_environment=default_environment,
                           environments=environments, push=push, extra_sections=extra_sections,
                           migrations_folder=_migrations_folder(path, project.get("migrations_dir")))
    if default_environment != DEFAULT_ENVIRONMENT and default_environment not in environments:
        raise ConfigError(f"default_environment '{default_environment}' is not configured",
                          where=_line_of(path, "default_environment"),
                          fix=f"add [environments.{default_environment}] or change default_environment")
    return config


def _migrations_folder(path: Path, value: str | None) -> str:
    """[project] migrations_dir: a folder inside the project, written relative to it (as the CLI's own is)."""
    if value is None:
        return DEFAULT_MIGRATIONS_DIR
    folder = Path(value)
    if not value.strip() or folder.is_absolute() or ".." in folder.parts:
        raise ConfigError(f"[project] migrations_dir must be a folder inside the project, written relative to it, "
                          f"not '{value}'", where=_line_of(path, "migrations_dir"),
                          fix='for example: migrations_dir = "backend/migrations"')
    return folder.as_posix().rstrip("/") or DEFAULT_MIGRATIONS_DIR


def _keep_backups(path: Path, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise ConfigError(f"'keep_backups' in [push] must be 1 or more, not {value}",
                          where=_line_of(path, "keep_backups"),
                          fix="for example: keep_backups = 5 (leave it out to keep every backup)")
    return value


def _environment(path: Path, name: str, table: Any) -> EnvironmentConfig:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ConfigError(f"environment name '{name}' is not valid", where=_line_of(path, name),
                          fix="use letters, digits, '-' and '_'")
    table = _check_table(path, f"environments.{name}", table, _ENVIRONMENT_KEYS)
    db_url = table.get("db_url")
    if db_url is not None:
        _refuse_stored_password(path, name, db_url)
    env_var = table.get("db_url_env")
    if env_var is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env_var):
        raise ConfigError(f"db_url_env '{env_var}' is not an environment variable name",
                          where=_line_of(path, "db_url_env", section=f"environments.{name}"),
                          fix="write the variable's name, e.g. STAGING_DB_URL")
    engine = table.get("engine")
    if engine is not None and engine not in ENGINES:
        raise ConfigError(f"unknown engine '{engine}' for environment '{name}'",
                          where=_line_of(path, "engine", section=f"environments.{name}"),
                          fix=f"use one of: {', '.join(ENGINES)} (or leave it out: it is inferred)")
    return EnvironmentConfig(name=name, db_url=db_url, db_url_env=env_var, project_ref=table.get("project_ref"),
                             protected=table.get("protected", False), engine=engine)


def _refuse_stored_password(path: Path, name: str, db_url: str) -> None:
    try:
        parts = urlsplit(db_url)
        host = parts.hostname or ""
        has_password = bool(parts.password)
    except ValueError:
        raise ConfigError(f"db_url of environment '{name}' is not a valid URL",
                          where=_line_of(path, "db_url", section=f"environments.{name}"),
                          fix="write postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from None
    if has_password and host not in LOOPBACK_HOSTS:
        raise ConfigError(
            f"db_url of environment '{name}' contains a password for a remote host",
            where=_line_of(path, "db_url", section=f"environments.{name}"),
            fix="secrets do not belong in supadeploy.toml: use db_url_env = \"NAME\" and set that variable",
        )


def resolve_database_url(environment: EnvironmentConfig, override: str | None) -> str:
    """The database URL to use: --db-url, else the environment's variable, else its db_url."""
    if override:
        return override
    if environment.db_url_env:
        value = os.environ.get(environment.db_url_env)
        if value:
            return value
        raise ConfigError(
            f"environment '{environment.name}' reads its database URL from ${environment.db_url_env}, which is not set",
            fix=f"export {environment.db_url_env}=postgresql://... (single-environment commands also take --db-url)",
        )
    if environment.db_url:
        return environment.db_url
    raise ConfigError(
        f"environment '{environment.name}' has no database URL",
        fix=f"set db_url_env for [environments.{environment.name}] in {CONFIG_FILE_NAME}, or pass --db-url",
    )
