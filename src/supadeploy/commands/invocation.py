"""How a command was asked for: the project folder, the environment and its overrides, and how to talk to
the person running it (messages on stderr, a yes/no question) — so a command runs the same from the CLI,
from a fleet rollout or from a test."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from supadeploy.errors import SupadeployError

if TYPE_CHECKING:
    from supadeploy.targets.base import Target
    from supadeploy.targets.resolve import Resolved


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Invocation:
    workdir: Path = Path(".")
    env: str | None = None
    db_url: str | None = None
    engine: str | None = None
    api_url: str | None = None
    yes: bool = False
    """--yes: every confirmation is answered yes."""
    quiet: bool = False
    """--json: no notes, plans or progress on stderr (stdout holds the one document)."""
    say: Callable[[str], None] = field(default=_stderr, compare=False)
    ask: Callable[[str], bool] | None = field(default=None, compare=False)
    """Asks the person a yes/no question (default No); None when nobody can answer (not a terminal)."""

    def for_environment(self, env: str | None, *, db_url: str | None = None) -> Invocation:
        return replace(self, env=env, db_url=db_url)

    def note(self, text: str) -> None:
        """A message for the person (stderr); not with --json."""
        if not self.quiet:
            self.say(text)

    def resolve(self) -> Resolved:
        """The environment and how it is reached (supadeploy.targets.resolve, the one resolver)."""
        from supadeploy.targets.resolve import resolve_environment

        return resolve_environment(self.workdir, self.env, self.db_url, self.engine)

    def open(self, resolved: Resolved, command: str, *, for_writing: bool, libpq_reads: bool = False) -> Target:
        """The Target of ``resolved`` for ``command``; notes (e.g. the pooler fallback) through ``note``.
        ``libpq_reads``: catalog reads over libpq, several at once (targets.resolve.open_environment)."""
        from supadeploy.targets.connection_url import default_application_name
        from supadeploy.targets.resolve import open_environment

        return open_environment(resolved, application_name=default_application_name(command),
                                for_writing=for_writing, api_url=self.api_url,
                                on_note=None if self.quiet else (lambda text: self.say(f"note: {text}")),
                                libpq_reads=libpq_reads)

    @contextmanager
    def reading(self, command: str, resolved: Resolved | None = None, *,
                libpq_reads: bool = False) -> Iterator[tuple[Resolved, Target]]:
        """The environment (``resolved``, else resolved now) and its Target opened for reading, closed after."""
        resolved = resolved or self.resolve()
        target = self.open(resolved, command, for_writing=False, libpq_reads=libpq_reads)
        try:
            yield resolved, target
        finally:
            target.close()

    def confirm(self, question: str, *, refuse_message: str) -> None:
        """--yes, or the person's yes; otherwise refuse (nothing has been changed yet)."""
        if self.yes:
            return
        if self.ask is None:
            raise SupadeployError(refuse_message, fix="pass --yes to confirm in a non-interactive run")
        if not self.ask(question):
            raise SupadeployError("cancelled; nothing was applied", exit_code=1)
