"""Run supadeploy the way users do: in-process through Typer's runner, or as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


def push_args(args: tuple[str, ...], after_push: bool) -> list[str]:
    """Tests of the push mechanics use tables without RLS: unless a test asks for the post-push steps
    (verify, types), they run `push --no-verify --no-types`."""
    if args and args[0] == "push" and not after_push:
        return ["push", "--no-verify", "--no-types", *args[1:]]
    return list(args)


def invoke(*args: str, env: dict[str, str] | None = None, after_push: bool = False) -> Outcome:
    from supadeploy.cli import app

    result = CliRunner().invoke(app, push_args(args, after_push), env=env, catch_exceptions=False)
    return Outcome(result.exit_code, result.stdout, result.stderr)


def run_process(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
                timeout: float = 120, after_push: bool = False) -> Outcome:
    completed = subprocess.run(
        [sys.executable, "-m", "supadeploy", *push_args(args, after_push)], cwd=cwd, capture_output=True,
        text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )
    return Outcome(completed.returncode, completed.stdout, completed.stderr)


def write_migration(project: Path, file_name: str, sql: str) -> Path:
    path = project / "supabase" / "migrations" / file_name
    path.write_text(sql, encoding="utf-8")
    return path
