"""Behavioural probes: act as anon or as a signed-in user the way PostgREST does, run a query, compare.

All probes run in one call, ``Target.query_rolled_back``: one transaction that is always rolled back. In it,
a temporary function runs each probe in its own subtransaction, which it also always rolls back, so one
probe's fixture rows never reach the next probe, and nothing is ever committed even on a Target that could
not roll back. For each probe it:

1. runs the optional setup SQL as the connecting user (the owner: fixture rows);
2. switches identity like PostgREST: ``set_config('role', <role>, true)`` (SET LOCAL ROLE) and
   ``set_config('request.jwt.claims', <claims JSON>, true)``;
3. runs the query and records its row count (rows returned, or rows changed) or its SQLSTATE.
"""

from __future__ import annotations

import json

from supadeploy.rls.findings import ProbeResult
from supadeploy.rls.manifest import ProbeSpec
from supadeploy.rls.sqltext import literal
from supadeploy.targets.base import Target

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
    WHEN OTHERS THEN
      phase := v_phase; state := SQLSTATE; message := SQLERRM;
  END;
  RETURN NEXT;
END
$supadeploy_probe$
"""


def probe_script(probes: list[ProbeSpec]) -> str:
    rows = ",\n  ".join(
        f"({index}, {literal(probe.setup)}::text, {literal(probe.role)}::text, "
        f"{literal(json.dumps(probe.claims, sort_keys=True))}::text, {literal(probe.query)}::text)"
        for index, probe in enumerate(probes)
    )
    return (
        PROBE_FUNCTION + ";\n"
        "SELECT v.n, r.phase, r.state, r.message, r.row_count\n"
        f"FROM (VALUES\n  {rows}\n) AS v(n, setup, role, claims, query)\n"
        "CROSS JOIN LATERAL pg_temp.supadeploy_probe(v.setup, v.role, v.claims, v.query) AS r\n"
        "ORDER BY v.n"
    )


def _rows(count: int) -> str:
    return "no rows" if count == 0 else f"{count} row{'s' if count != 1 else ''}"


def judge(probe: ProbeSpec, phase: str, state: str, message: str | None, row_count: int | None) -> ProbeResult:
    if phase == "setup":
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


def run_probes(target: Target, probes: list[ProbeSpec]) -> list[ProbeResult]:
    """Run every probe in one rolled-back transaction (one round trip)."""
    if not probes:
        return []
    results = {int(n): (phase, state, message, row_count)
               for n, phase, state, message, row_count in target.query_rolled_back(probe_script(probes))}
    return [judge(probe, *results[index]) for index, probe in enumerate(probes)]
