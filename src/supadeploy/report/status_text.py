"""`supadeploy status` as text: one block per environment, its to-do lines last."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.status import EnvironmentStatus


def status_text(result: EnvironmentStatus) -> str:
    """`supadeploy status` of one environment, as text."""
    lines = [f"{result.environment}: {result.reached_as or 'not reachable'} (engine {result.engine})"]
    if not result.reachable:
        lines.append(f"  not reachable: {result.error}")
    else:
        lines.append(f"  migrations: {len(result.applied)} applied, {len(result.pending)} pending"
                     + (f" ({_versions(result.pending)})" if result.pending else "")
                     + (f", {len(result.drifted)} edited since they ran" if result.drifted else "")
                     + (f", {len(result.missing_locally)} missing locally" if result.missing_locally else ""))
        lines.append(f"  deploy lock: {result.lock_holder or 'free'}")
        last = result.last_deploy
        lines.append("  last deploy: " + (f"#{last['id']} {last['command']} {last['status']} at "
                                          f"{str(last['started_at'])[:19]} by {last['actor'] or '-'}"
                                          if last else "none recorded"))
        if result.verify_errors is not None:
            lines.append(f"  verify: {result.verify_errors} error(s), {result.verify_warnings} warning(s)"
                         + (f", {result.verify_failed_probes} probe(s) failed" if result.verify_failed_probes else ""))
        lines.append(f"  types: {'stale: ' + ', '.join(result.stale_types) if result.stale_types else 'up to date'}")
    lines.append(f"  {result.supabase_cli or 'Supabase CLI: not found'}")
    lines.extend(f"  to do: {action}" for action in result.actions)
    if not result.actions:
        lines.append("  nothing to do")
    return "\n".join(lines)


def _versions(versions: list[str]) -> str:
    return ", ".join(versions[:5]) + (f", … ({len(versions) - 5} more)" if len(versions) > 5 else "")
