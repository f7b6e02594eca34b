"""The workflow files `supadeploy ci init` writes.

- a pull-request check: lint, every migration replayed on a throwaway Postgres, `types --check`, and one comment
  on the pull request (`supadeploy ci comment`, updated in place) with what the change does to each environment;
- a staging deploy on pushes to the staging branch (default `develop`, as in the Supabase docs);
- a production deploy on pushes to the production branch (default `main`), bound to the GitHub
  environment `production` (so its required reviewers apply), promoting exactly what staging ran.
Each deploy job has its own concurrency group, so two deploys to one environment never overlap.
Secrets are named as the Supabase docs name them (SUPABASE_ACCESS_TOKEN, STAGING_DB_PASSWORD, ...);
database URLs come from STAGING_DB_URL / PRODUCTION_DB_URL.

A deploy's backup outlives the job: over the Management API it is a restore point; otherwise supadeploy writes
the pg_dump into $RUNNER_TEMP (SUPADEPLOY_BACKUP_DIR, never the workspace), names it in its step output
`backup_file`, and the next step uploads it as a workflow artifact kept `backup_retention_days` days; the step
summary says where it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from supadeploy.errors import SupadeployError

WORKFLOW_DIR = Path(".github") / "workflows"


def pinned_install() -> str:
    """The install line that gets the very version writing the workflows (``--install`` overrides it)."""
    from supadeploy import UNKNOWN_VERSION, __version__

    if __version__ == UNKNOWN_VERSION:
        raise SupadeployError("this supadeploy was never installed, so its version is unknown and the workflows "
                              "cannot pin it",
                              fix="install it (pip install -e .), or pass --install with the command the runner "
                                  "should use")
    return f"pip install supadeploy=={__version__}"


@dataclass(frozen=True)
class WorkflowSettings:
    staging_branch: str = "develop"
    production_branch: str = "main"
    install: str = field(default_factory=pinned_install)
    """Shell command that installs supadeploy on the runner: by default, the version writing the workflows."""
    python_version: str = "3.12"
    staging_environment: str = "staging"
    production_environment: str = "production"
    types_check: bool = True
    migrations_dir: str = "supabase/migrations"
    """[project] migrations_dir: the workflows run when it, supabase/config.toml or supadeploy.toml change."""
    backup_retention_days: int = 7
    """How long GitHub keeps a deploy's pg_dump artifact (it holds every row: keep it short)."""


_SETUP = """\
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "{python_version}"
      - name: Install supadeploy
        run: {install}
"""

PULL_REQUEST = """\
# Written by `supadeploy ci init`. Checks every pull request that touches the database.
name: supadeploy check

on:
  pull_request:
    paths:
{paths}  workflow_dispatch:

permissions:
  contents: read

jobs:
  check:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pull-requests: write
    services:
      postgres:
        image: postgres:15
        env:
          POSTGRES_PASSWORD: postgres
        ports:
          - 5432:5432
        options: >-
          --health-cmd "pg_isready -U postgres"
          --health-interval 5s
          --health-timeout 5s
          --health-retries 10
    env:
      SHADOW_DB_URL: postgresql://postgres:postgres@localhost:5432/postgres
    steps:
{setup}      - name: Lint migrations
        run: supadeploy lint
      - name: Replay every migration on a throwaway database
        run: supadeploy check --shadow-url "$SHADOW_DB_URL"
{types_step}{comment_step}"""

_TYPES_STEP = """\
      - name: Types are up to date
        run: |
          supadeploy local start
          supadeploy push --env local --yes --no-verify --no-types
          supadeploy types --env local --check
"""

# One comment per pull request, updated in place: what the change does to each environment (dry runs against
# their databases, replayed on the throwaway one). It runs after a failed step too; a fork's pull request gets it
# in the step summary (its token may not comment, and it has no secrets).
_COMMENT_STEP = """\
      - name: Comment on the pull request
        if: ${{{{ !cancelled() && github.event_name == 'pull_request' }}}}
        env:
          GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}
          STAGING_DB_URL: ${{{{ secrets.STAGING_DB_URL }}}}
          PRODUCTION_DB_URL: ${{{{ secrets.PRODUCTION_DB_URL }}}}
        run: |
          reports="$RUNNER_TEMP/supadeploy-reports"
          mkdir -p "$reports"
          supadeploy check --shadow-url "$SHADOW_DB_URL" --json > "$reports/check.json" || true
          for environment in {environments}; do
            supadeploy push --env "$environment" --dry-run --no-verify --no-types --json \\
              --shadow-url "$SHADOW_DB_URL" > "$reports/$environment.json" || true
          done
          supadeploy ci comment --from "$reports/check.json"{from_environments}
"""

DEPLOY = """\
# Written by `supadeploy ci init`. Deploys the database of {environment}.
name: supadeploy {environment}

on:
  push:
    branches:
      - {branch}
    paths:
{paths}  workflow_dispatch:

permissions:
  contents: read

concurrency:
  group: supadeploy-{environment}
  cancel-in-progress: false

jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: {github_environment}
    env:
      SUPABASE_ACCESS_TOKEN: ${{{{ secrets.SUPABASE_ACCESS_TOKEN }}}}
{env_lines}    steps:
{setup}      - name: {step_name}
        id: deploy
        env:
          SUPADEPLOY_BACKUP_DIR: ${{{{ runner.temp }}}}/supadeploy-backups
        run: {command}
      - name: Keep the backup as a workflow artifact
        id: backup-artifact
        if: ${{{{ !cancelled() && steps.deploy.outputs.backup_file != '' }}}}
        uses: actions/upload-artifact@v4
        with:
          name: supadeploy-backup-{environment}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}
          path: ${{{{ steps.deploy.outputs.backup_file }}}}
          retention-days: {retention_days}
          if-no-files-found: error
      - name: Say where the backup is
        if: ${{{{ !cancelled() && steps.backup-artifact.outputs.artifact-url != '' }}}}
        env:
          ARTIFACT_URL: ${{{{ steps.backup-artifact.outputs.artifact-url }}}}
        run: >-
          echo "backup: workflow artifact supadeploy-backup-{environment}-$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT
          (kept {retention_days} days): $ARTIFACT_URL" | tee -a "$GITHUB_STEP_SUMMARY"
"""


def _comment_step(settings: WorkflowSettings) -> str:
    environments = (settings.staging_environment, settings.production_environment)
    return _COMMENT_STEP.format(environments=" ".join(environments), from_environments="".join(
        f' --from "$reports/{name}.json"' for name in environments))


def render_setup(settings: WorkflowSettings) -> str:
    """A job's first steps: the checkout, Python, and supadeploy installed by ``settings.install``."""
    return _SETUP.format(python_version=settings.python_version, install=settings.install)


def render_workflows(settings: WorkflowSettings) -> dict[Path, str]:
    """File path (relative to the project) → content."""
    setup = render_setup(settings)
    paths = "".join(f'      - "{path}"\n' for path in (f"{settings.migrations_dir}/**", "supabase/config.toml",
                                                          "supabase/policies.toml", "supadeploy.toml"))
    staging_env = (
        "      STAGING_DB_URL: ${{ secrets.STAGING_DB_URL }}\n"
        "      SUPABASE_DB_PASSWORD: ${{ secrets.STAGING_DB_PASSWORD }}\n"
    )
    # Promotion reads staging's history and deploys to production.
    production_env = (
        "      STAGING_DB_URL: ${{ secrets.STAGING_DB_URL }}\n"
        "      PRODUCTION_DB_URL: ${{ secrets.PRODUCTION_DB_URL }}\n"
        "      SUPABASE_DB_PASSWORD: ${{ secrets.PRODUCTION_DB_PASSWORD }}\n"
    )
    return {
        WORKFLOW_DIR / "supadeploy-check.yml": PULL_REQUEST.format(
            paths=paths, setup=setup, types_step=_TYPES_STEP if settings.types_check else "",
            comment_step=_comment_step(settings)),
        WORKFLOW_DIR / f"supadeploy-{settings.staging_environment}.yml": DEPLOY.format(
            environment=settings.staging_environment, branch=settings.staging_branch,
            github_environment=settings.staging_environment, env_lines=staging_env, setup=setup, paths=paths,
            step_name=f"Push migrations to {settings.staging_environment}",
            retention_days=settings.backup_retention_days,
            command=f"supadeploy push --env {settings.staging_environment} --yes"),
        WORKFLOW_DIR / f"supadeploy-{settings.production_environment}.yml": DEPLOY.format(
            environment=settings.production_environment, branch=settings.production_branch,
            github_environment=settings.production_environment, env_lines=production_env, setup=setup,
            paths=paths,
            step_name=f"Promote what {settings.staging_environment} ran to {settings.production_environment}",
            retention_days=settings.backup_retention_days,
            command=f"supadeploy promote {settings.staging_environment} {settings.production_environment} --yes"),
    }


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    written: bool  # False: it existed and was left unchanged


def check_names(*names: str) -> None:
    """Branch and environment names the workflows can hold unquoted."""
    for name in names:
        if not name or any(c in name for c in " \t\n:'\"{}$"):
            raise SupadeployError(f"'{name}' is not a usable branch or environment name",
                                  fix="use letters, digits, '-', '_', '/' and '.'")


def write_workflows(workdir: Path, settings: WorkflowSettings, *, force: bool = False) -> list[WrittenFile]:
    check_names(settings.staging_branch, settings.production_branch, settings.staging_environment,
                settings.production_environment)
    return write_files(workdir, render_workflows(settings), force=force)


def write_files(workdir: Path, files: dict[Path, str], *, force: bool) -> list[WrittenFile]:
    """Each file written, unless it exists and not ``force``."""
    results = []
    for relative, content in files.items():
        path = workdir / relative
        if path.exists() and not force:
            results.append(WrittenFile(path, written=False))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        results.append(WrittenFile(path, written=True))
    return results
