"""Pure functions: redaction, durations, plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from supadeploy.config import parse_duration_seconds, postgres_duration
from supadeploy.errors import ConfigError, PlanError
from supadeploy.migrations.files import Migration
from supadeploy.migrations.history import HistoryRow
from supadeploy.migrations.plan import build_plan, check_plan
from supadeploy.redact import redact_text, redact_url


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://postgres:pa%40ss@db.example.test:5432/postgres",
     "postgresql://postgres:****@db.example.test:5432/postgres"),
    ("postgres://u:p@[::1]:6543/db?sslmode=require", "postgres://u:****@[::1]:6543/db?sslmode=require"),
    ("postgresql://u@host/db?password=hunter2&sslmode=disable", "postgresql://u@host/db?password=****&sslmode=disable"),
    ("postgresql://host/db", "postgresql://host/db"),
])
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_covers_urls_keywords_and_known_secrets() -> None:
    text = "failed: postgresql://a:secret1@h/db host=h password=secret2 token sbp_0123456789abcdef"
    assert redact_text(text, ("sbp_0123456789abcdef",)) == \
        "failed: postgresql://a:****@h/db host=h password=**** token ****"


@pytest.mark.parametrize(("value", "seconds", "postgres"), [
    ("10s", 10.0, "10000ms"), ("500ms", 0.5, "500ms"), ("5min", 300.0, "300000ms"), ("0", 0.0, "0"),
    ("2h", 7200.0, "7200000ms"), ("1.5", 1.5, "1500ms"),
])
def test_durations(value: str, seconds: float, postgres: str) -> None:
    assert parse_duration_seconds(value, where="x") == seconds
    assert postgres_duration(value, where="x") == postgres


def test_bad_duration_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'ten seconds' is not a duration"):
        parse_duration_seconds("ten seconds", where="supadeploy.toml:3")


def migration(version: str, sql: str = "select 1") -> Migration:
    return Migration(version=version, name=f"m{version}", path=Path(f"{version}_m{version}.sql"), sql=sql)


def row(version: str, *statements: str) -> HistoryRow:
    return HistoryRow(version=version, name=f"m{version}", statements=statements or ("select 1",))


def test_plan_classifies_everything() -> None:
    local = [migration("001"), migration("002", "select 2"), migration("004")]
    history = [row("001"), row("002"), row("003")]
    plan = build_plan(local, history)
    assert [m.version for m in plan.pending] == ["004"]
    assert [m.version for m in plan.applied] == ["001", "002"]
    assert [r.version for r in plan.remote_only] == ["003"]
    assert [d.migration.version for d in plan.drifted] == ["002"]
    with pytest.raises(PlanError, match="not in your migrations folder: 003_m003"):
        check_plan(plan, include_all=False, allow_drift=False)


def test_history_without_statements_is_not_drift() -> None:
    plan = build_plan([migration("001")], [HistoryRow("001", None, None)])
    assert plan.drifted == []
    check_plan(plan, include_all=False, allow_drift=False)


def test_out_of_order_only_with_include_all() -> None:
    plan = build_plan([migration("001"), migration("002"), migration("003")], [row("001"), row("003")])
    assert [m.version for m in plan.out_of_order] == ["002"]
    with pytest.raises(PlanError, match="--include-all"):
        check_plan(plan, include_all=False, allow_drift=False)
    check_plan(plan, include_all=True, allow_drift=False)


def test_statement_digest_matches_the_server(pg_admin_url: str) -> None:
    import psycopg

    from supadeploy.migrations.history import statements_digest

    statements = ["select 'ünï;'", "", "create table \"x\" (id int)\n-- c", "a" * 5000]
    with psycopg.connect(pg_admin_url) as conn:
        row = conn.execute(
            "select md5(coalesce((select string_agg(length(s)::text || ':' || s, '' order by i) "
            "from unnest(%s::text[]) with ordinality as u(s, i)), ''))", (statements,)).fetchone()
    assert row is not None and row[0] == statements_digest(statements)
    assert HistoryRow("1", None, None, digest=statements_digest(["select 1"])).same_statements(["select 1"]) is True
    assert HistoryRow("1", None, None, digest=statements_digest(["select 1"])).same_statements(["select 2"]) is False
