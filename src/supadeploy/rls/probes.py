"""Behavioural probes: act as anon or as a signed-in user the way PostgREST does, run a query, compare.

All probes run in one call, ``Target.query_rolled_back``: one transaction that is always rolled back. In it,
a temporary function runs each probe in its own subtransaction, which it also always rolls back, so one
probe's fixture rows never reach the next probe, and nothing is ever committed even on a Target that could
not roll back. Each probe is its own statement under ``SET LOCAL statement_timeout`` (``[verify]
probe_timeout``, 5 s by default), so a policy that sleeps or a table lock held elsewhere costs one probe that
many seconds, not a hang. For each probe it:

1. runs the optional setup SQL as the connecting user (the owner: fixture rows);
2. switches identity like PostgREST: ``set_config('role', <role>, true)`` (SET LOCAL ROLE) and
   ``set_config('request.jwt.claims', <claims JSON>, true)``;
3. runs the query and records its row count (rows returned, or rows changed) or its SQLSTATE.

Probes write fixture rows (often into ``auth.users``) in the database they check: on an environment with
``protected = true`` they run only when ``[verify] probes_on_protected = true``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from supadeploy.errors import ConfigError
from supadeploy.rls.findings import Finding, ProbeResult
from supadeploy.rls.manifest import ProbeSpec
from supadeploy.rls.sqltext import literal

if TYPE_CHECKING:
    from supadeploy.config import EnvironmentConfig, ProjectConfig
    from supadeploy.targets.base import Target

QUERY_CANCELED = "57014"
DEFAULT_PROBE_TIMEOUT = "5s"
PROBE_FUNCTION = """
CREATE FUNCTION pg_temp.supadeploy_probe(p_setup text, p_role text, p_claims text, p_query text)
RETURNS TABLE (phase text, state text, message text, row_count bigint)
LANGUAGE plpgsql AS $supadeploy_probe$
DECLARE
  v_phase text := 'setup';
  v_rows bigint;
BEGIN
  BEGIN
    IF p_setup IS NOT NULL THEN
      EXECUTE p_setup;
    END IF;
    v_phase := 'identity';
    PERFORM pg_catalog.set_config('role', p_role, true);
    PERFORM pg_catalog.set_config('request.jwt.claims', p_claims, true);
    v_phase := 'query';
    EXECUTE p_query;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RAISE EXCEPTION USING ERRCODE = 'SDPRB';  -- roll the probe back, whatever it did
  EXCEPTION
    WHEN SQLSTATE 'SDPRB' THEN
      phase := 'query'; state := '00000'; row_count := v_rows;
    WHEN query_canceled OR OTHERS THEN  -- query_canceled: the probe's statement_timeout
      phase := v_phase; state := SQLSTATE; message := SQLERRM;
  END;
  RETURN NEXT;
END
$supadeploy_probe$;
CREATE TEMPORARY TABLE supadeploy_probe_results (n int, phase text, state text, message text, row_count bigint)
ON COMMIT DROP
"""


@dataclass(frozen=True)
class ProbeLimits:
    """How probes may run on one environment."""

    statement_timeout: str = "5000ms"
    """per probe, as Postgres settings accept it"""
    skipped_because: str | None = None
    """why the probes do not run here (a protected environment), or None"""

    @classmethod
    def for_environment(cls, project: ProjectConfig, environment: EnvironmentConfig | None) -> ProbeLimits:
        """From ``[verify] probe_timeout`` and ``probes_on_protected`` of supadeploy.toml."""
        from supadeploy.config import postgres_duration

        section = project.section("verify")
        on_protected = section.get("probes_on_protected", False)
        if not isinstance(on_protected, bool):
            raise project.section_error("'probes_on_protected' in [verify] must be true or false",
                                        key="probes_on_protected", fix="for example: probes_on_protected = false")
        timeout = section.get("probe_timeout", DEFAULT_PROBE_TIMEOUT)
        try:
            statement_timeout = postgres_duration(timeout, where="") if isinstance(timeout, str) else "0"
        except ConfigError:
            statement_timeout = "0"
        if statement_timeout == "0":
            raise project.section_error("'probe_timeout' in [verify] must be a duration above zero",
                                        key="probe_timeout", fix='for example: probe_timeout = "5s"')
        skipped = None
        if environment is not None and environment.protected and not on_protected:
            skipped = (f"probes skipped on protected environment '{environment.name}' "
                       "(set [verify] probes_on_protected = true to run them)")
        return cls(statement_timeout=statement_timeout, skipped_because=skipped)


def probe_script(probes: list[ProbeSpec], statement_timeout: str = ProbeLimits.statement_timeout) -> str:
    """One script: the probe function, then each probe as its own statement under the timeout, then the results."""
    runs = "".join(
        "INSERT INTO pg_temp.supadeploy_probe_results SELECT "
        f"{index}, r.* FROM pg_temp.supadeploy_probe({literal(probe.setup)}::text, {literal(probe.role)}::text, "
        f"{literal(json.dumps(probe.claims, sort_keys=True))}::text, {literal(probe.query)}::text) AS r;\n"
        for index, probe in enumerate(probes)
    )
    return (
        PROBE_FUNCTION + ";\n"
        f"SET LOCAL statement_timeout = {literal(statement_timeout)};\n"
        + runs +
        "SELECT n, phase, state, message, row_count FROM pg_temp.supadeploy_probe_results ORDER BY n"
    )


def _rows(count: int) -> str:
    return "no rows" if count == 0 else f"{count} row{'s' if count != 1 else ''}"


def judge(probe: ProbeSpec, phase: str, state: str, message: str | None, row_count: int | None,
          statement_timeout: str = ProbeLimits.statement_timeout) -> ProbeResult:
    timed_out = state == QUERY_CANCELED and probe.expect_error != QUERY_CANCELED
    if timed_out:
        got, passed = f"timed out in its {phase} after {statement_timeout} ([verify] probe_timeout)", False
    elif phase == "setup":
        got, passed = f"setup failed with {state}", False
    elif phase == "identity":
        got, passed = f"could not act as {probe.role} ({state})", False
    elif state == "00000":
        count = int(row_count or 0)
        got, passed = _rows(count), probe.expect_rows == count
    else:
        got, passed = f"error {state}", probe.expect_error == state
    return ProbeResult(name=probe.name, role=probe.role, passed=passed, expected=probe.expected, got=got,
                       message=message)


def run_probes(target: Target, probes: list[ProbeSpec], limits: ProbeLimits | None = None) -> list[ProbeResult]:
    """Run every probe in one rolled-back transaction (one round trip), each under the statement timeout."""
    if not probes:
        return []
    limits = limits or ProbeLimits()
    results = {int(n): (phase, state, message, row_count) for n, phase, state, message, row_count
               in target.query_rolled_back(probe_script(probes, limits.statement_timeout))}
    return [judge(probe, *results[index], statement_timeout=limits.statement_timeout)
            for index, probe in enumerate(probes)]


def run_or_skip_probes(target: Target, probes: list[ProbeSpec],
                       limits: ProbeLimits) -> tuple[list[ProbeResult], list[Finding]]:
    """The probes' results, or (on a protected environment not opted in) none and an info finding saying so."""
    if not probes or limits.skipped_because is None:
        return run_probes(target, probes, limits), []
    return [], [Finding(code="probes_skipped", level="info", schema=None, object=f"{len(probes)} probe(s)",
                        object_type="configuration", message=limits.skipped_because,
                        remediation="probes write fixture rows (rolled back) into the database they check; run "
                                    "them on a staging copy, or opt in with [verify] probes_on_protected = true")]
