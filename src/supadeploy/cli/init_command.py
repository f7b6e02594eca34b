"""`supadeploy init`."""

from __future__ import annotations

from pathlib import Path

import typer

from supadeploy.cli.common import WorkdirOption, user_errors

HELP = """Create supadeploy.toml (environments local, staging, production) and supabase/migrations/, and add
.supadeploy/ (where backups of protected environments go) to .gitignore.

Never overwrites: existing files are left as they are (a .gitignore is only appended to)."""

CONFIG_TEMPLATE = """\
# supadeploy configuration. Secrets never go in this file: remote database URLs are read from
# the environment variables named by db_url_env.

[project]
default_environment = "local"

[push]
lock_timeout = "10s"        # how long one statement may wait for a table lock
statement_timeout = "0"     # 0 = no limit
deploy_lock_wait = "300s"   # how long a push waits for another push to the same database
backup_dir = ".supadeploy/backups"  # pg_dump files taken before deploys to protected environments (0600,
                                    # git-ignored; outside the repository is safer still)
# keep_backups = 5          # pg_dump files kept per environment (default: all)
require_clean_git = false   # true: protected environments refuse a dirty git work tree

[verify]
fail_on = "error"           # findings that fail `verify` and `push`: error, warn or none
# schemas = ["api"]         # exposed schemas besides public

[types]
# Regenerated after every push; `supadeploy types --check` fails when they are stale.
# typescript = "src/lib/database.types.ts"
# python = "backend/db/models.py"

[environments.local]
# `supadeploy local start` (or `supabase start`) serves this database.
db_url = "postgresql://postgres:postgres@127.0.0.1:54322/postgres"

[environments.staging]
db_url_env = "STAGING_DB_URL"
# project_ref = "abcdefghijklmnopqrst"

[environments.production]
db_url_env = "PRODUCTION_DB_URL"
# project_ref = "abcdefghijklmnopqrst"
protected = true
"""


def init(workdir: WorkdirOption = Path(".")) -> None:
    from supadeploy.config import CONFIG_FILE_NAME
    from supadeploy.errors import ConfigError
    from supadeploy.workdir_files import GITIGNORE_ENTRY, ensure_gitignore_entry

    with user_errors(False):
        if not workdir.is_dir():
            raise ConfigError(f"project directory {workdir} does not exist", fix="create it or pass --workdir")
        config_path = workdir / CONFIG_FILE_NAME
        if config_path.exists():
            typer.echo(f"{config_path} exists; left unchanged")
        else:
            config_path.write_text(CONFIG_TEMPLATE, encoding="utf-8")
            typer.echo(f"created {config_path}")
        migrations = workdir / "supabase" / "migrations"
        if migrations.is_dir():
            typer.echo(f"{migrations}/ exists; left unchanged")
        else:
            migrations.mkdir(parents=True)
            typer.echo(f"created {migrations}/")
        gitignore = workdir / ".gitignore"
        if ensure_gitignore_entry(workdir):
            typer.echo(f"added {GITIGNORE_ENTRY} to {gitignore} (backups hold production data)")
        else:
            typer.echo(f"{gitignore} already ignores {GITIGNORE_ENTRY}")
