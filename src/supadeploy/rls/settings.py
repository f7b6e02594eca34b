"""The [verify] section of supadeploy.toml.

```toml
[verify]
schemas = ["api"]                  # exposed schemas in addition to supabase/config.toml's [api] schemas
fail_on = "error"                  # error | warn | none
manifest = "supabase/policies.toml"
sensitive_columns = ["nickname"]   # column names that are personal or secret, besides the built-in words

[[verify.accept]]
code = "rls_no_policy"
object = "public.audit_log"
reason = "written by a trigger, read by service_role only"
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supadeploy.config import ProjectConfig
from supadeploy.errors import ConfigError, SupadeployError
from supadeploy.rls.findings import FINDING_CODES

FAIL_ON = ("error", "warn", "none")
DEFAULT_MANIFEST = Path("supabase") / "policies.toml"
SUPABASE_CONFIG = Path("supabase") / "config.toml"
POSTGREST_DEFAULT_SCHEMAS = ("public", "graphql_public")
"""What the Supabase CLI serves when supabase/config.toml has no [api] schemas."""
_KEYS = ("schemas", "fail_on", "manifest", "sensitive_columns", "accept", "probe_timeout", "probes_on_protected")
_ACCEPT_KEYS = ("code", "object", "policy", "reason")
_ACCEPT_HEADER = "[[verify.accept]]"


@dataclass(frozen=True)
class AcceptedFinding:
    """A finding the team decided to live with: shown as accepted, never hidden, never failing a run."""

    code: str
    object: str
    """schema.name of the table, view or function (the role, bucket or extension name for those)"""
    reason: str
    policy: str | None = None

    def matches(self, code: str, qualified_name: str, policy: str | None) -> bool:
        return (self.code == code and self.object == qualified_name
                and (self.policy is None or self.policy == policy))


@dataclass(frozen=True)
class VerifySettings:
    extra_schemas: tuple[str, ...] = ()
    fail_on: str = "error"
    manifest: Path = DEFAULT_MANIFEST
    accepted: tuple[AcceptedFinding, ...] = ()
    sensitive_columns: tuple[str, ...] = ()
    api_schemas: tuple[str, ...] | None = None
    """supabase/config.toml's [api] schemas (what PostgREST serves); None without that file"""

    def exposed_schemas(self, flag_schemas: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The [api] schemas (public without supabase/config.toml), the [verify] schemas and --schema."""
        served = self.api_schemas if self.api_schemas is not None else ("public",)
        return tuple(dict.fromkeys([*served, *self.extra_schemas, *flag_schemas]))


def check_fail_on(value: str) -> str:
    if value not in FAIL_ON:
        raise SupadeployError(f"--fail-on must be one of {', '.join(FAIL_ON)}, not '{value}'",
                              fix="use --fail-on error (the default), warn or none", exit_code=2)
    return value


def load_settings(project: ProjectConfig) -> VerifySettings:
    """Read and check [verify] (and supabase/config.toml's [api] schemas); needs no database, so a bad value is
    reported before anything connects. Every mistake is a ConfigError naming supadeploy.toml:LINE."""
    section: dict[str, Any] = project.section("verify")
    for key in section:
        if key not in _KEYS:
            raise _error(project, f"unknown key '{key}' in [verify]", key=key, fix=f"allowed keys: {', '.join(_KEYS)}")
    schemas = section.get("schemas", [])
    if not isinstance(schemas, list) or not all(isinstance(s, str) and s for s in schemas):
        raise _error(project, "'schemas' in [verify] must be a list of schema names", key="schemas",
                     fix='for example: schemas = ["api"]  (supabase/config.toml\'s [api] schemas are always read)')
    fail_on = section.get("fail_on", "error")
    if fail_on not in FAIL_ON:
        raise _error(project, f"'fail_on' in [verify] must be one of {', '.join(FAIL_ON)}", key="fail_on",
                     fix='for example: fail_on = "error"')
    manifest = section.get("manifest", str(DEFAULT_MANIFEST))
    if not isinstance(manifest, str) or not manifest:
        raise _error(project, "'manifest' in [verify] must be a path", key="manifest",
                     fix='for example: manifest = "supabase/policies.toml"')
    sensitive = section.get("sensitive_columns", [])
    if not isinstance(sensitive, list) or not all(isinstance(name, str) and name.strip() for name in sensitive):
        raise _error(project, "'sensitive_columns' in [verify] must be a list of column names",
                     key="sensitive_columns", fix='for example: sensitive_columns = ["nickname", "home_town"]')
    return VerifySettings(extra_schemas=tuple(schemas), fail_on=fail_on, manifest=Path(manifest),
                          accepted=_accepted(project, section.get("accept", [])),
                          sensitive_columns=tuple(name.strip() for name in sensitive),
                          api_schemas=supabase_api_schemas(project.workdir))


def supabase_api_schemas(workdir: Path) -> tuple[str, ...] | None:
    """``[api] schemas`` of supabase/config.toml (its default when the key is missing); None without the file."""
    from supadeploy.toml_files import read_toml_file

    path = workdir / SUPABASE_CONFIG
    if not path.is_file():
        return None
    document = read_toml_file(path)
    api = document.get("api", {})
    schemas = api.get("schemas", list(POSTGREST_DEFAULT_SCHEMAS)) if isinstance(api, dict) else None
    if not isinstance(schemas, list) or not all(isinstance(schema, str) and schema for schema in schemas):
        raise ConfigError("[api] schemas must be a list of schema names", where=_line_in(path, "[api]", "schemas"),
                          fix='write it like schemas = ["public", "graphql_public"]')
    return tuple(dict.fromkeys(schemas))


def _line_in(path: Path, header: str, key: str, occurrence: int = 0) -> str:
    """path:LINE of ``key`` in the ``occurrence``-th table named ``header`` (the header's line when the key is
    not written there; the file alone when the table is not found)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return str(path)
    seen, header_line = -1, None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            if header_line is not None:
                break
            if stripped.replace(" ", "") == header:
                seen += 1
                header_line = number if seen == occurrence else None
        elif header_line is not None and re.match(rf"{re.escape(key)}\s*=", stripped):
            return f"{path}:{number}"
    return f"{path}:{header_line}" if header_line is not None else str(path)


def _error(project: ProjectConfig, message: str, *, key: str, fix: str) -> ConfigError:
    if project.config_path is None:
        return project.section_error(message, key=key, fix=fix)
    return ConfigError(message, where=_line_in(project.config_path, "[verify]", key), fix=fix)


def _accept_error(project: ProjectConfig, index: int, message: str, *, key: str, fix: str) -> ConfigError:
    if project.config_path is None:
        return project.section_error(message, key=key, fix=fix)
    return ConfigError(message, where=_line_in(project.config_path, _ACCEPT_HEADER, key, index), fix=fix)


def _accepted(project: ProjectConfig, entries: Any) -> tuple[AcceptedFinding, ...]:
    if not isinstance(entries, list):
        raise _error(project, "[verify] accept must be an array of tables", key="accept",
                     fix="write [[verify.accept]] with code, object and reason")
    return tuple(_accepted_entry(project, index, entry) for index, entry in enumerate(entries))


def _accepted_entry(project: ProjectConfig, index: int, entry: Any) -> AcceptedFinding:
    example = "write [[verify.accept]] with code, object and reason"
    if not isinstance(entry, dict):
        raise _error(project, "each [[verify.accept]] must be a table", key="accept", fix=example)
    for key in entry:
        if key not in _ACCEPT_KEYS:
            raise _accept_error(project, index, f"unknown key '{key}' in [[verify.accept]]", key=key,
                                fix=f"allowed keys: {', '.join(_ACCEPT_KEYS)}")
    code, name, reason, policy = entry.get("code"), entry.get("object"), entry.get("reason"), entry.get("policy")
    if code is None:
        raise _accept_error(project, index, "[[verify.accept]] needs a code", key="code",
                            fix='for example: code = "rls_no_policy" (copy it from `supadeploy verify` output)')
    if not isinstance(code, str) or code not in FINDING_CODES or code == "probe_failed":
        raise _accept_error(project, index, f"[[verify.accept]] code {code!r} is not a verify finding code",
                            key="code", fix="copy the code from `supadeploy verify` output (see docs/verify.md)")
    if not isinstance(name, str) or not name:
        raise _accept_error(project, index, f"[[verify.accept]] for '{code}' needs an object", key="object",
                            fix='for example: object = "public.audit_log"')
    if not isinstance(reason, str) or not reason.strip():
        raise _accept_error(project, index, f"[[verify.accept]] for '{code}' on {name} needs a reason",
                            key="reason", fix='write reason = "why this is fine"; it is shown with the finding')
    if policy is not None and not isinstance(policy, str):
        raise _accept_error(project, index, "'policy' in [[verify.accept]] must be a policy name", key="policy",
                            fix='for example: policy = "Anyone can read prices"')
    return AcceptedFinding(code=code, object=name, reason=reason.strip(), policy=policy)
