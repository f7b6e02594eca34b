"""``supadeploy reconcile [--apply]``: compare the migration files with the history (supadeploy.reconcile)
and, with --apply, carry out the proposals under the writing policy of commands.writing (a protected
environment confirms before the deploy lock; one deploy-log row)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.reconcile import ReconcileActions, ReconcileReport


@dataclass(frozen=True)
class ReconcileRequest:
    apply: bool = False
    strategy: str = "rewrite-remote"
    revert_remote_only: bool = False


@dataclass(frozen=True)
class ReconcileRun:
    description: str
    report: ReconcileReport
    """After --apply: the comparison read again."""
    actions: ReconcileActions | None = None


def run_reconcile(invocation: Invocation, request: ReconcileRequest) -> ReconcileRun:
    from supadeploy.commands.writing import confirm_protected, writing_run
    from supadeploy.migrations.files import discover_migrations
    from supadeploy.reconcile import apply_reconcile, reconcile
    from supadeploy.report.reconcile_text import report_text

    resolved = invocation.resolve()
    migrations_dir = resolved.project.migrations_dir
    discovery = discover_migrations(migrations_dir)
    target = invocation.open(resolved, "reconcile", for_writing=request.apply)
    actions = None
    try:
        report = reconcile(discovery.migrations, target.read_history())
        if request.apply and report.mismatches:
            invocation.note(report_text(report))
            environment = resolved.environment
            confirm_protected(invocation, environment,
                              f"Apply these changes on protected environment '{environment.name}'?")
            with writing_run(target, resolved, "reconcile") as run:
                actions = apply_reconcile(target, report, migrations_dir, strategy=request.strategy,
                                          revert_remote_only=request.revert_remote_only)
                run.versions = [new for _, new in actions.rewritten] + actions.reverted
            report = reconcile(discover_migrations(migrations_dir).migrations, target.read_history())
    finally:
        target.close()
    return ReconcileRun(target.description, report, actions)
