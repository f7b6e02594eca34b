"""The pull-request comment, as markdown, from supadeploy's own ``--json`` documents.

Documents it reads (each one ``--json`` output):

- ``supadeploy push --env NAME --dry-run --shadow-url URL --json``: one section per target environment, with the
  pending migrations (their SQL collapsed in ``<details>``), lint findings as file:line, the destructive statements,
  the exposure difference (what anon and authenticated gain or lose), the types that change;
- ``supadeploy check --json``: the replay of every migration on a throwaway database (failure, problems);
- an error document (``{"ok": false, "error": ...}``) of either: that part could not be previewed, and why.

The first line is a hidden marker, so the comment is found again and updated in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = "<!-- supadeploy:pr-comment -->"
MAX_BODY = 65_000        # GitHub refuses comments over 65,536 characters
SQL_LINES = 80
SQL_CHARS = 6_000
LIST_LIMIT = 30


def marker_for(key: str | None = None) -> str:
    """The hidden marker; with ``key`` (e.g. a workflow name), one comment per key on the same pull request."""
    return MARKER if not key else f"<!-- supadeploy:pr-comment:{key} -->"


@dataclass
class Verdict:
    blocking: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.blocking:
            return f"**Verdict: ❌ not ready** — {'; '.join(self.blocking)}."
        notes = self.review + self.incomplete
        if notes:
            return f"**Verdict: ⚠️ review** — {'; '.join(notes)}."
        return "**Verdict: ✅ ready** — the migrations replay cleanly, no lint errors, no change in exposure."


def comment_markdown(documents: list[tuple[str, dict[str, Any]]], *, workdir: Path = Path("."),
                     key: str | None = None, footer: str | None = None) -> str:
    """``documents``: (label, document) pairs; the label names an environment when the document does not.
    Past GitHub's size limit the SQL is left out (the files are in the pull request), then the end is cut."""
    body = _markdown(documents, workdir, key, footer, with_sql=True)
    if len(body) > MAX_BODY:
        body = _markdown(documents, workdir, key, footer, with_sql=False)
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY - 80] + "\n\n… cut here: the comment is longer than GitHub allows."
    return body + "\n"


def _markdown(documents: list[tuple[str, dict[str, Any]]], workdir: Path, key: str | None, footer: str | None, *,
              with_sql: bool) -> str:
    verdict = Verdict()
    sections = [_section(label, document, workdir, verdict, with_sql) for label, document in documents]
    if not documents:
        verdict.incomplete.append("no supadeploy report was given")
    head = [marker_for(key), "## supadeploy: what this pull request changes in the database", "", verdict.line()]
    body = "\n".join(head) + "\n\n" + "\n\n".join(sections)
    return body + (f"\n\n<sub>{footer}</sub>" if footer else "")


def _section(label: str, document: dict[str, Any], workdir: Path, verdict: Verdict, with_sql: bool) -> str:
    if isinstance(document.get("error"), dict):
        return _error_section(label, document["error"], verdict)
    if "dry_run" in document:
        return _environment_section(label, document, workdir, verdict, with_sql)
    if "fingerprint" in document or "idempotency_checked" in document:
        return _check_section(document, workdir, verdict)
    verdict.incomplete.append(f"{label}: not a supadeploy check or dry-run report")
    return f"### {label}\n\nNot a report this comment knows (expected `check --json` or `push --dry-run --json`)."


def _error_section(label: str, error: dict[str, Any], verdict: Verdict) -> str:
    verdict.incomplete.append(f"`{label}` could not be previewed")
    lines = [f"### `{label}`", "", f"Not previewed: {_inline(str(error.get('message', 'failed')))}"]
    if error.get("fix"):
        lines += ["", f"Fix: {_inline(str(error['fix']))}"]
    return "\n".join(lines)


def _environment_section(label: str, document: dict[str, Any], workdir: Path, verdict: Verdict,
                         with_sql: bool) -> str:
    environment = document.get("environment") or label
    plan = document.get("plan") or {}
    pending = plan.get("pending") or []
    lines = [f"### `{environment}`", ""]   # no database address: the comment may be public
    if not pending:
        lines.append(f"Up to date: {len(plan.get('applied') or [])} migration(s) applied, nothing pending.")
        return "\n".join(lines)
    lines.append(f"**{len(pending)} pending migration(s)** would be applied:")
    lines.append("")
    for migration in pending:
        lines.extend(_migration_details(migration, workdir, with_sql=with_sql))
    for problem in _plan_problems(plan):
        verdict.blocking.append(f"`{environment}`: {problem}")
        lines.append(f"- ❌ {problem}")
    lint = [finding for finding in document.get("lint") or [] if not finding.get("suppressed")]
    destructive = [finding for finding in lint if finding.get("category") == "destructive"
                   or str(finding.get("code", "")).startswith("SD2")]
    others = [finding for finding in lint if finding not in destructive]
    lines += ["", "#### Lint", ""]
    lines += [_finding_line(finding) for finding in others[:LIST_LIMIT]] or ["No findings."]
    lines += _more(len(others))
    lines += ["", "#### Destructive statements", ""]
    lines += [_finding_line(finding) for finding in destructive[:LIST_LIMIT]] or ["None."]
    lines += _more(len(destructive))
    errors = [finding for finding in lint if finding.get("level") == "error"]
    if errors:
        verdict.blocking.append(f"`{environment}`: {len(errors)} lint error(s)"
                                + (f", {len(destructive)} destructive" if destructive else ""))
    lines += ["", "#### Exposure (what anon and authenticated can do)", ""]
    lines += _exposure_lines(document.get("exposure"), environment, verdict)
    lines += ["", "#### Types", ""]
    lines += _types_lines(document.get("types_diff"))
    return "\n".join(lines)


def _plan_problems(plan: dict[str, Any]) -> list[str]:
    problems = []
    if plan.get("remote_only"):
        problems.append(f"{len(plan['remote_only'])} version(s) applied there have no file here")
    if plan.get("drifted"):
        problems.append(f"{len(plan['drifted'])} applied file(s) were edited since they ran")
    if plan.get("out_of_order"):
        problems.append(f"{len(plan['out_of_order'])} pending version(s) are older than the newest applied one")
    return problems


def _migration_details(migration: dict[str, Any], workdir: Path, *, with_sql: bool) -> list[str]:
    file = str(migration.get("file", ""))
    shown = _shown_path(file, workdir)
    title = f"<code>{_html(Path(file).name or str(migration.get('version')))}</code>"
    if not with_sql:
        return [f"- {title}"]
    sql, note = _sql_excerpt(file, workdir)
    return ["<details>", f"<summary>{title} {note}</summary>", "", f"`{shown}`", "", _fenced(sql, "sql"), "",
            "</details>"]


def _sql_excerpt(file: str, workdir: Path) -> tuple[str, str]:
    path = Path(file)
    if not path.is_absolute() and not path.exists():
        path = workdir / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return "-- (the file could not be read here)", ""
    lines = text.splitlines()
    kept = "\n".join(lines[:SQL_LINES])[:SQL_CHARS]
    note = f"({len(lines)} line(s))"
    if len(kept) < len(text.rstrip("\n")):
        kept += f"\n-- … cut here: the whole file has {len(lines)} lines"
    return kept, note


def _finding_line(finding: dict[str, Any]) -> str:
    where = f"{finding.get('file')}:{finding.get('line')}" + (f":{finding['column']}" if finding.get("column") else "")
    icon = {"error": "❌", "info": ":information_source:"}.get(str(finding.get("level")), "⚠️")
    return (f"- {icon} `{where}` **{finding.get('code')}** {finding.get('rule', '')}: "
            f"{_inline(str(finding.get('message', '')))}")


def _exposure_lines(exposure: list[dict[str, Any]] | None, environment: str, verdict: Verdict) -> list[str]:
    if exposure is None:
        verdict.incomplete.append(f"`{environment}`: exposure not computed")
        return ["Not computed: run the dry run with `--shadow-url` (a server where a throwaway database may be "
                "created)."]
    if not exposure:
        return ["No change: anon and authenticated gain and lose nothing."]
    verdict.review.append(f"`{environment}`: {len(exposure)} change(s) in exposure")
    lines = [f"- `{change['object']}`: {change['role']} {change['action']} {change['before']} → {change['after']}"
             for change in exposure[:LIST_LIMIT]]
    return lines + _more(len(exposure))


def _types_lines(types_diff: list[dict[str, Any]] | None) -> list[str]:
    if types_diff is None:
        return ["Not computed."]
    if not types_diff:
        return ["No change in the generated types."]
    lines: list[str] = []
    for change in types_diff:
        lines += [f"`{change.get('path')}` ({change.get('lang')}):", "", _fenced(str(change.get("diff", "")), "diff"),
                  ""]
    return lines[:-1]


def _check_section(document: dict[str, Any], workdir: Path, verdict: Verdict) -> str:
    lines = ["### Replay on a throwaway database (`supadeploy check`)", "",
             f"Applied {document.get('applied', 0)} of {document.get('migrations', 0)} migration(s); "
             f"idempotency checked for {document.get('idempotency_checked', 0)}, down/up round trips for "
             f"{document.get('round_trips_checked', 0)}."]
    failed = document.get("failed")
    if failed:
        file = _shown_path(str(failed.get("file")), workdir)
        where = f"{file}:{failed.get('line')}:{failed.get('column')}"
        verdict.blocking.append(f"migration {failed.get('version')}_{failed.get('name')} fails")
        lines.append(f"- ❌ `{where}` fails: {_inline(str(failed.get('message', '')))}"
                     + (f" (SQLSTATE {failed['sqlstate']})" if failed.get("sqlstate") else ""))
    problems = document.get("problems") or []
    if problems:
        verdict.blocking.append(f"the replay found {len(problems)} problem(s)")
    lines += [f"- ❌ `{_shown_path(str(problem.get('location')), workdir)}` {problem.get('kind')}: "
              f"{_inline(str(problem.get('message', '')))}" for problem in problems[:LIST_LIMIT]]
    lines += _more(len(problems))
    if not failed and not problems:
        lines.append("- ✅ every migration replays, runs twice, and rolls back where it has down SQL.")
    return "\n".join(lines)


def _more(count: int) -> list[str]:
    return [f"- … and {count - LIST_LIMIT} more"] if count > LIST_LIMIT else []


def _fenced(text: str, language: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def _inline(text: str) -> str:
    return " ".join(text.split()).replace("<", "&lt;").replace(">", "&gt;")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _shown_path(file: str, workdir: Path) -> str:
    try:
        return str(Path(file).resolve().relative_to(workdir.resolve()))
    except ValueError:
        return file


def run_footer(environ: dict[str, str] | None = None) -> str:
    """Which supadeploy wrote the comment, and a link to the run (in GitHub Actions)."""
    import os

    from supadeploy import __version__

    env = environ if environ is not None else dict(os.environ)
    text = f"Written by supadeploy {__version__}"
    server, repository, run = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    if server and repository and run:
        text += f" · [workflow run]({server}/{repository}/actions/runs/{run})"
    return text
