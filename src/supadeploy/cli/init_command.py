"""`supadeploy init`."""

from __future__ import annotations

from pathlib import Path

import typer

from supadeploy.cli.common import WorkdirOption, user_errors

HELP = """Create supadeploy.toml (environments local, staging, production) and the migrations folder, and add
.supadeploy/ (where backups of protected environments go) to .gitignore.

In an existing repository it uses the migrations it finds (supabase/migrations, backend/migrations, migrations or
db/migrations: [project] migrations_dir) and the project the Supabase CLI linked (supabase/.temp/project-ref)
as staging's project_ref, and says so. Never overwrites: existing files are left as they are (a .gitignore is
only appended to)."""


def init(workdir: WorkdirOption = Path(".")) -> None:
    from supadeploy.config import CONFIG_FILE_NAME
    from supadeploy.errors import ConfigError
    from supadeploy.project_init import PROJECT_REF_FILE, config_text, discover_project
    from supadeploy.workdir_files import GITIGNORE_ENTRY, ensure_gitignore_entry

    with user_errors(False):
        if not workdir.is_dir():
            raise ConfigError(f"project directory {workdir} does not exist", fix="create it or pass --workdir")
        found = discover_project(workdir)
        config_path = workdir / CONFIG_FILE_NAME
        if config_path.exists():
            typer.echo(f"{config_path} exists; left unchanged")
        else:
            config_path.write_text(config_text(found), encoding="utf-8")
            typer.echo(f"created {config_path}")
        for folder in found.found:
            if folder.folder == found.migrations_dir and folder.migrations:
                typer.echo(f"found {folder.migrations} migration(s) in {folder.folder}/: [project] migrations_dir")
        if found.has_supabase_config:
            typer.echo("found supabase/config.toml: its [api] schemas are the exposed schemas verify checks and "
                       "types default to")
        if found.project_ref:
            typer.echo(f"found the Supabase CLI's linked project {found.project_ref} ({PROJECT_REF_FILE}): "
                       "staging's project_ref (check that it is staging)")
        for note in found.notes:
            typer.echo(f"note: {note}")
        migrations = workdir / found.migrations_dir
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

