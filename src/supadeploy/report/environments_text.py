"""Two environments compared (`supadeploy diff`) and a promotion (`supadeploy promote`): text, JSON, markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from supadeploy.environment_diff import only_in, row_label

if TYPE_CHECKING:
    from supadeploy.environment_diff import EnvironmentDiff, HistoryComparison, SchemaComparison
    from supadeploy.promote import PromotionOutcome

_DEFINITION_WIDTH = 160


def _short(definition: str | None) -> str:
    text = " ".join((definition or "").split())
    return text if len(text) <= _DEFINITION_WIDTH else text[: _DEFINITION_WIDTH - 3] + "..."


def history_text(history: HistoryComparison, first: str, second: str) -> str:
    if history.identical:
        return f"History: identical ({len(history.first)} migrations: same versions, names and statements)."
    count = len(history.only_in_first) + len(history.only_in_second) + len(history.mismatched)
    width = max(len(first), len(second)) + len("only in ")
    lines = [f"History: {count} difference(s) ({first}: {len(history.first)} migrations, "
             f"{second}: {len(history.second)})"]
    lines += [f"  {'only in ' + first:<{width}}  {row_label(row)}" for row in history.only_in_first]
    lines += [f"  {'only in ' + second:<{width}}  {row_label(row)}" for row in history.only_in_second]
    lines += [f"  {'different':<{width}}  {row_label(m.first)}: {'; '.join(m.reasons(first, second))}"
              for m in history.mismatched]
    return "\n".join(lines)


def schema_text(schema: SchemaComparison, first: str, second: str) -> str:
    scope = f"Schema ({', '.join(schema.schemas)})"
    if schema.identical:
        return f"{scope}: identical ({schema.objects} objects, sha256 {schema.first_digest[:12]})."
    lines = [f"{scope}: {len(schema.differences)} difference(s)"]
    width = max(len(first), len(second)) + 1
    for difference in schema.differences:
        side = only_in(difference, first, second)
        if side is not None:
            lines.append(f"  {difference.kind} {difference.name}: only in {side}")
            continue
        lines.append(f"  {difference.kind} {difference.name}: different")
        lines.append(f"    {first + ':':<{width}} {_short(difference.before)}")
        lines.append(f"    {second + ':':<{width}} {_short(difference.after)}")
    return "\n".join(lines)


def diff_text(diff: EnvironmentDiff, descriptions: tuple[str, str]) -> str:
    width = max(len(diff.first), len(diff.second))
    return "\n".join([
        f"{diff.first:<{width}}  {descriptions[0]}",
        f"{diff.second:<{width}}  {descriptions[1]}",
        "",
        history_text(diff.history, diff.first, diff.second),
        schema_text(diff.schema, diff.first, diff.second),
    ])


def diff_document(diff: EnvironmentDiff, descriptions: tuple[str, str]) -> dict[str, Any]:
    document = {"ok": diff.identical, **diff.as_dict()}
    document["databases"] = {diff.first: descriptions[0], diff.second: descriptions[1]}
    return document


def promotion_header(outcome: PromotionOutcome) -> str:
    plan = outcome.plan
    if plan.to_promote:
        lines = [f"Promoting {plan.source} -> {plan.target}: {len(plan.to_promote)} migration(s) {plan.source} ran "
                 f"that {plan.target} lacks"]
        if not outcome.deploy.push.dry_run:  # the dry run's plan lists them
            lines += [f"  + {m.file_name}" for m in plan.to_promote]
    else:
        lines = [f"Promoting {plan.source} -> {plan.target}: {plan.target} has every migration {plan.source} ran "
                 f"({len(plan.history.first)})."]
    if plan.not_promoted:
        lines.append(f"Not promoted ({plan.source} has not run them): "
                     + ", ".join(m.file_name for m in plan.not_promoted))
    return "\n".join(lines)


def drift_text(outcome: PromotionOutcome) -> str:
    schema = outcome.schema
    if schema is None:
        return ""
    source, target = outcome.plan.source, outcome.plan.target
    if schema.identical:
        return (f"Schema ({', '.join(schema.schemas)}) of {target} matches {source}: {schema.objects} objects, "
                f"sha256 {schema.first_digest[:12]}.")
    return f"DRIFT: {target}'s schema differs from {source}'s.\n" + schema_text(schema, source, target)


def promotion_document(outcome: PromotionOutcome, deploy_document: dict[str, Any], *,
                       source_database: str) -> dict[str, Any]:
    """The deploy document of the target, with what was promoted from where and the schema comparison."""
    from supadeploy.report.json import migration_ref

    plan = outcome.plan
    document = dict(deploy_document)
    document["ok"] = outcome.ok
    document["command"] = "promote"
    document["source"] = {"environment": plan.source, "database": source_database}
    document["promoted"] = [migration_ref(m) for m in plan.to_promote]
    document["not_promoted"] = [migration_ref(m) for m in plan.not_promoted]
    document["drift"] = outcome.drift
    document["schema"] = outcome.schema.as_dict(plan.source, plan.target) if outcome.schema else None
    return document


def promotion_markdown(outcome: PromotionOutcome) -> str:
    """Where the migrations came from and the schema comparison, as a step-summary section."""
    plan, schema = outcome.plan, outcome.schema
    lines = [f"**Promoted from `{plan.source}`:** {len(plan.to_promote)} migration(s) "
             f"{'would be ' if outcome.deploy.push.dry_run else ''}applied to `{plan.target}`"
             + (f"; not promoted ({plan.source} has not run them): "
                + ", ".join(f"`{m.file_name}`" for m in plan.not_promoted) if plan.not_promoted else "."), ""]
    if schema is None:
        return "\n".join(lines).rstrip()
    if schema.identical:
        lines.append(f"**Schema:** `{plan.target}` matches `{plan.source}` ({schema.objects} objects in "
                     f"{', '.join(schema.schemas)}).")
        return "\n".join(lines)
    lines += [f"**Schema drift:** `{plan.target}` differs from `{plan.source}` ({len(schema.differences)} "
              "difference(s))", "", "| kind | name | where |", "|---|---|---|"]
    for difference in schema.differences:
        side = only_in(difference, plan.source, plan.target)
        lines.append(f"| {difference.kind} | `{difference.name}` | {'only in ' + side if side else 'different'} |")
    return "\n".join(lines)
