"""Engines: how supadeploy reaches the database of an environment.

* ``native`` (default): a direct psycopg connection (``PostgresTarget``). For a hosted project known only by
  its ``project_ref``, the URL is derived from ``SUPABASE_DB_PASSWORD``: direct host when reachable, else the
  session pooler (see ``supadeploy.hosted``).
* ``api``: the Management API over HTTPS (``ManagementApiTarget``): needs only ``project_ref`` and
  ``SUPABASE_ACCESS_TOKEN``.
* ``cli``: the official `supabase db push` applies the migrations, inside supadeploy's push pipeline (its
  plan, deploy lock, drift check and deploy log around it: ``SupabaseCliApplier``). Push only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from supadeploy.config import ENGINES, LOOPBACK_HOSTS, parse_duration_seconds
from supadeploy.errors import ConfigError, Interrupted, SupadeployError

if TYPE_CHECKING:
    from supadeploy.config import EnvironmentConfig, ProjectConfig
    from supadeploy.management_api.client import ManagementApiClient
    from supadeploy.migrations.failure import MigrationFailure
    from supadeploy.migrations.files import Migration
    from supadeploy.pipeline import PushListener, PushOptions, PushResult
    from supadeploy.targets.base import Target
    from supadeploy.targets.resolve import Resolved
    from supadeploy.targets.supabase_cli import CliPushRun, SupabaseCli

TOKEN_VARIABLE = "SUPABASE_ACCESS_TOKEN"
API_URL_VARIABLE = "SUPADEPLOY_API_URL"
_API_KEYS = {"api_url": str, "timeout": str}

Note = Callable[[str], None]


@dataclass(frozen=True)
class ApiSettings:
    api_url: str
    timeout_seconds: float = 120.0


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise SupadeployError(f"unknown engine '{engine}'", fix=f"use one of: {', '.join(ENGINES)}", exit_code=2)
    return engine


# --- the Management API ----------------------------------------------------------------------------------


def api_settings(project: ProjectConfig, api_url: str | None = None) -> ApiSettings:
    """--api-url, else $SUPADEPLOY_API_URL, else [api] api_url in supadeploy.toml, else api.supabase.com."""
    from supadeploy.management_api.client import DEFAULT_API_URL

    section = project.section("api")
    for key, value in section.items():
        if key not in _API_KEYS:
            raise project.section_error(f"unknown key '{key}' in [api]", key=key,
                                        fix=f"allowed keys: {', '.join(sorted(_API_KEYS))}")
        if not isinstance(value, str):
            raise project.section_error(f"'{key}' in [api] must be a string", key=key,
                                        fix=f'for example: {key} = "..."')
    timeout = 120.0
    if "timeout" in section:
        try:
            timeout = parse_duration_seconds(section["timeout"], where="[api] timeout")
        except ConfigError as error:
            raise project.section_error(error.what, key="timeout", fix=error.fix or "") from None
    override = api_url or os.environ.get(API_URL_VARIABLE)
    chosen = override or section.get("api_url") or DEFAULT_API_URL
    try:
        check_api_url(chosen)
    except ConfigError as error:
        if override:
            raise
        raise project.section_error(error.what, key="api_url", fix=error.fix or "") from None
    return ApiSettings(api_url=chosen.rstrip("/"), timeout_seconds=timeout)


def check_api_url(url: str, *, where: str | None = None) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        host, parts = "", urlsplit("")
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"'{url}' is not an API URL", where=where,
                          fix="write it like https://api.supabase.com")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ConfigError(f"the API URL {url} is not HTTPS: the access token would travel unencrypted",
                          where=where, fix="use https:// (plain http is accepted only for a server on this machine)")


def access_token() -> str:
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise ConfigError(f"${TOKEN_VARIABLE} is not set",
                          fix=f"create an access token at https://supabase.com/dashboard/account/tokens and "
                              f"export {TOKEN_VARIABLE}=...")
    return token


def open_client(project: ProjectConfig, api_url: str | None = None) -> ManagementApiClient:
    from supadeploy.management_api.client import ManagementApiClient, Timeouts
    from supadeploy.management_api.deadline import deadline_seconds

    settings = api_settings(project, api_url)
    return ManagementApiClient(access_token(), api_url=settings.api_url,
                               timeouts=Timeouts(read=settings.timeout_seconds),
                               deadline_seconds=deadline_seconds(settings.timeout_seconds))


def project_ref(environment: EnvironmentConfig, engine: str) -> str:
    from supadeploy.management_api.client import check_project_ref

    if not environment.project_ref:
        raise ConfigError(
            f"--engine {engine} needs the project ref of environment '{environment.name}'",
            fix=f"run `supadeploy link {environment.name} --project-ref <ref>` (or add project_ref to "
                f"[environments.{environment.name}] in supadeploy.toml)")
    return check_project_ref(environment.project_ref, where=f"[environments.{environment.name}] project_ref")


# --- opening a target ------------------------------------------------------------------------------------


def database_url(resolved: Resolved, *, for_push: bool, api_url: str | None = None,
                 on_note: Note | None = None) -> str:
    """The URL to connect with: the configured one (checked), or one derived for a hosted project_ref."""
    from supadeploy.hosted import (
        check_url_encoding,
        connect_hosted,
        database_password,
        refuse_transaction_pooler,
    )

    if resolved.url:
        check_url_encoding(resolved.url)
        if for_push:
            refuse_transaction_pooler(resolved.url)
        return resolved.url
    ref = project_ref(resolved.environment, "native")
    password = database_password()
    client = open_client(resolved.project, api_url) if os.environ.get(TOKEN_VARIABLE) else None
    try:
        connection = connect_hosted(ref, password, client)
    finally:
        if client is not None:
            client.close()
    if connection.note and on_note is not None:
        on_note(connection.note)
    return connection.url


# --- the Supabase CLI engine -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SupabaseCliApplier:
    """The ``cli`` engine inside the one push pipeline (supadeploy.pipeline.push): the pipeline holds the deploy
    lock on its own session, plans, checks the files and writes the deploy log; this runs the real
    `supabase db push` once for the pending files, then reads back from the history what it applied."""

    cli: SupabaseCli
    workdir: Path
    on_output: Note | None = None

    def refuse(self, pending: list[Migration]) -> None:
        refuse_what_the_cli_would_alter(pending)

    def apply_all(self, target: Target, pending: list[Migration], options: PushOptions, listener: PushListener,
                  result: PushResult) -> None:
        url = getattr(target, "connection_url", None)
        if not isinstance(url, str):
            raise SupadeployError("--engine cli needs a database connection to hand to `supabase db push`",
                                  fix="push with --engine api, or give the environment a database URL")
        try:
            run, durations = _run_cli(self.cli, self.workdir, url, pending, options, listener, self.on_output)
        except KeyboardInterrupt:
            raise _interrupted(target, result) from None
        _collect(result, run, durations, {row.version for row in target.read_history()}, listener)


def _interrupted(target: Target, result: PushResult) -> Interrupted:
    """What an interrupted `supabase db push` left: read back from the history, never assumed."""
    from supadeploy.pipeline import AppliedMigration

    try:
        applied = {row.version for row in target.read_history()}
    except (SupadeployError, OSError):
        return Interrupted("interrupted while `supabase db push` ran, and the history could not be read back",
                           fix="run `supadeploy migration list` to see what is applied")
    kept = [m for m in result.plan.pending if m.version in applied]
    result.applied.extend(AppliedMigration(m.version, m.name, str(m.path), 0.0) for m in kept)
    names = ", ".join(m.file_name for m in kept)
    return Interrupted("interrupted while `supabase db push` ran: "
                       + (f"applied before it stopped, and kept: {names}" if kept else "nothing of it is applied"),
                       fix="rerun the push to apply the rest")


def refuse_what_the_cli_would_alter(pending: list[Migration]) -> None:
    """`supabase db push` sends its own split of each file: where that split cuts through a string, comment or
    body that PostgreSQL reads as one, the CLI would change the SQL. Refused, before anything is applied."""
    from supadeploy.errors import MigrationFileError
    from supadeploy.migrations.executable import cli_split_disagreement

    for migration in pending:
        offset = cli_split_disagreement(migration)
        if offset is not None:
            raise MigrationFileError(
                "the Supabase CLI would end a statement here, inside a string, comment or routine body that "
                "PostgreSQL reads as one: `supabase db push` would send altered SQL", where=migration.location(offset),
                fix="nothing was applied; push with --engine native (or api), which run the file as psql does, or "
                    "write the string with doubled quotes ('') or a $$ quote with an ASCII tag")


@dataclass
class _Progress:
    """Turns the CLI's `Applying migration X...` lines into listener calls and per-migration durations."""

    pending: dict[str, Migration]
    listener: PushListener
    durations: dict[str, float] = field(default_factory=dict)
    current: Migration | None = None
    started: float = 0.0

    def line(self, text: str) -> None:
        from supadeploy.targets.supabase_cli import APPLYING_LINE

        match = APPLYING_LINE.match(text.strip())
        if not match:
            return
        self.finish()
        migration = self.pending.get(match.group("file"))
        if migration is None:
            return
        self.current = migration
        self.started = time.perf_counter()
        self.listener.starting(migration, list(self.pending).index(migration.file_name), len(self.pending))

    def finish(self, applied: bool = True) -> None:
        if self.current is None:
            return
        seconds = time.perf_counter() - self.started
        self.durations[self.current.version] = seconds
        if applied:
            self.listener.finished(self.current, seconds, True)
        self.current = None


def _run_cli(cli: SupabaseCli, workdir: Path, url: str, pending: list[Migration], options: PushOptions,
             listener: PushListener, on_output: Note | None) -> tuple[CliPushRun, dict[str, float]]:
    from supadeploy.targets.supabase_cli import run_db_push

    progress = _Progress(pending={m.file_name: m for m in pending}, listener=listener)

    def output(line: str) -> None:
        progress.line(line)
        if on_output is not None:
            on_output(line)

    run = run_db_push(cli, workdir, db_url=url, include_all=options.include_all, on_output=output)
    progress.finish(applied=run.ok)
    return run, progress.durations


def _collect(result: PushResult, run: CliPushRun, durations: dict[str, float], applied_versions: set[str],
             listener: PushListener) -> None:
    from supadeploy.pipeline import AppliedMigration
    from supadeploy.targets.supabase_cli import failure_summary

    for migration in result.plan.pending:
        if migration.version in applied_versions:
            result.applied.append(AppliedMigration(migration.version, migration.name, str(migration.path),
                                                   durations.get(migration.version, 0.0)))
    if run.ok:
        return
    failed = next((m for m in result.plan.pending if m.version not in applied_versions), None)
    if failed is None or run.sql_failure is None:
        raise SupadeployError(f"`supabase db push` failed: {failure_summary(run)}",
                              fix="the migrations listed as applied before it stay applied; fix the cause and rerun")
    listener.failed(failed)
    result.failed = cli_failure(failed, run)


def cli_failure(migration: Migration, run: CliPushRun) -> MigrationFailure:
    """The CLI's `ERROR ... At statement: N` turned into file:line:column like the native engine's."""
    from supadeploy.migrations.failure import MigrationFailure
    from supadeploy.migrations.splitter import line_and_column

    failure = run.sql_failure
    assert failure is not None
    index = failure.statement_index if failure.statement_index is not None else 0
    index = min(max(index, 0), max(len(migration.statements) - 1, 0))
    offset = 0
    if migration.statements:
        statement = migration.statements[index]
        offset = statement.offset
        if failure.statement_line is not None and failure.caret_column is not None:
            line_start = _line_start(statement.text, failure.statement_line)
            if line_start is not None:
                offset = statement.offset + line_start + failure.caret_column - 1
    line, column = line_and_column(migration.sql, offset)
    return MigrationFailure(version=migration.version, name=migration.name, file=str(migration.path), line=line,
                            column=column, statement_index=index, sqlstate=failure.sqlstate,
                            message=failure.message)


def _line_start(text: str, printed_line: str) -> int | None:
    offset = 0
    for line in text.split("\n"):
        if line.rstrip() == printed_line.rstrip():
            return offset
        offset += len(line) + 1
    return None
