"""Two environments, staging and production, each on its own fresh database (promote and diff tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.cli import Outcome, invoke

NOTES = (
    "create table public.notes (id int primary key, owner uuid not null, body text);\n"
    "alter table public.notes enable row level security;\n"
    "create policy notes_owner_read on public.notes for select to authenticated\n"
    "  using ((select auth.uid()) = owner);\n"
)
ADD_TITLE = "alter table public.notes add column title text;\n"
URL_PASSWORD = "postgres:postgres@"  # the password of the test URLs: it must never be printed


class Environments:
    """A project with a staging and a production environment, each on its own fresh database."""

    def __init__(self, project: Path, make_db: Callable[[], str], *, protected: bool = False) -> None:
        self.project = project
        self.staging, self.production = make_db(), make_db()
        self.env = {"SD_STAGING_URL": self.staging, "SD_PRODUCTION_URL": self.production}
        (project / "supadeploy.toml").write_text(
            '[environments.staging]\ndb_url_env = "SD_STAGING_URL"\n\n'
            '[environments.production]\ndb_url_env = "SD_PRODUCTION_URL"\n'
            + ("protected = true\n" if protected else ""))

    def push(self, environment: str, *args: str) -> Outcome:
        outcome = invoke("push", "--env", environment, "--workdir", str(self.project), "--yes", *args, env=self.env)
        assert outcome.exit_code == 0, outcome.output
        return outcome

    def promote(self, *args: str) -> Outcome:
        outcome = invoke("promote", "staging", "production", "--workdir", str(self.project), *args, env=self.env)
        assert URL_PASSWORD not in outcome.output
        return outcome

    def history(self, environment: str) -> list[dict[str, object]]:
        outcome = invoke("history", "--env", environment, "--workdir", str(self.project), "--json", env=self.env)
        assert outcome.exit_code == 0, outcome.output
        deployments: list[dict[str, object]] = outcome.json()["deployments"]
        return deployments
