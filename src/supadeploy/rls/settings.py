"""The [verify] section of supadeploy.toml.

```toml
[verify]
schemas = ["api"]                  # exposed schemas in addition to public
fail_on = "error"                  # error | warn | none
manifest = "supabase/policies.toml"

[[verify.accept]]
code = "rls_no_policy"
object = "public.audit_log"
reason = "written by a trigger, read by service_role only"
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supadeploy.config import ProjectConfig
from supadeploy.errors import SupadeployError
from supadeploy.rls.findings import FINDING_CODES

FAIL_ON = ("error", "warn", "none")
DEFAULT_MANIFEST = Path("supabase") / "policies.toml"
_KEYS = ("schemas", "fail_on", "manifest", "accept", "probe_timeout", "probes_on_protected")
_ACCEPT_KEYS = ("code", "object", "policy", "reason")


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


def check_fail_on(value: str) -> str:
    if value not in FAIL_ON:
        raise SupadeployError(f"--fail-on must be one of {', '.join(FAIL_ON)}, not '{value}'",
                              fix="use --fail-on error (the default), warn or none", exit_code=2)
    return value


def parse_schema_list(values: list[str]) -> tuple[str, ...]:
    """`--schema public,api --schema other` -> ('public', 'api', 'other'), without duplicates."""
    schemas: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if name and name not in schemas:
                schemas.append(name)
    if not schemas:
        raise SupadeployError("--schema needs at least one schema name", fix="e.g. --schema public,api",
                              exit_code=2)
    return tuple(schemas)


def load_settings(project: ProjectConfig) -> VerifySettings:
    section: dict[str, Any] = project.section("verify")
    for key in section:
        if key not in _KEYS:
            raise project.section_error(f"unknown key '{key}' in [verify]", key=key,
                                        fix=f"allowed keys: {', '.join(_KEYS)}")
    schemas = section.get("schemas", [])
    if not isinstance(schemas, list) or not all(isinstance(s, str) and s for s in schemas):
        raise project.section_error("'schemas' in [verify] must be a list of schema names", key="schemas",
                                    fix='for example: schemas = ["api"]  (public is always exposed)')
    fail_on = section.get("fail_on", "error")
    if fail_on not in FAIL_ON:
        raise project.section_error(f"'fail_on' in [verify] must be one of {', '.join(FAIL_ON)}", key="fail_on",
                                    fix='for example: fail_on = "error"')
    manifest = section.get("manifest", str(DEFAULT_MANIFEST))
    if not isinstance(manifest, str) or not manifest:
        raise project.section_error("'manifest' in [verify] must be a path", key="manifest",
                                    fix='for example: manifest = "supabase/policies.toml"')
    return VerifySettings(extra_schemas=tuple(schemas), fail_on=fail_on, manifest=Path(manifest),
                          accepted=_accepted(project, section.get("accept", [])))


def _accepted(project: ProjectConfig, entries: Any) -> tuple[AcceptedFinding, ...]:
    if not isinstance(entries, list):
        raise project.section_error("[verify] accept must be an array of tables", key="accept",
                                    fix='write [[verify.accept]] with code, object and reason')
    accepted = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise project.section_error("each [[verify.accept]] must be a table", key="accept",
                                        fix='write [[verify.accept]] with code, object and reason')
        for key in entry:
            if key not in _ACCEPT_KEYS:
                raise project.section_error(f"unknown key '{key}' in [[verify.accept]]", key=key,
                                            fix=f"allowed keys: {', '.join(_ACCEPT_KEYS)}")
        code, name, reason, policy = entry.get("code"), entry.get("object"), entry.get("reason"), entry.get("policy")
        if code not in FINDING_CODES or code == "probe_failed":
            raise project.section_error(f"[[verify.accept]] code '{code}' is not a verify finding code",
                                        key="code", fix="copy the code from `supadeploy verify` output "
                                                        "(see docs/verify.md)")
        if not isinstance(name, str) or not name:
            raise project.section_error(f"[[verify.accept]] for '{code}' needs an object", key="object",
                                        fix='for example: object = "public.audit_log"')
        if not isinstance(reason, str) or not reason.strip():
            raise project.section_error(f"[[verify.accept]] for '{code}' on {name} needs a reason", key="code",
                                        fix='write reason = "why this is fine"; it is shown with the finding')
        if policy is not None and not isinstance(policy, str):
            raise project.section_error("'policy' in [[verify.accept]] must be a policy name", key="policy",
                                        fix='for example: policy = "Anyone can read prices"')
        accepted.append(AcceptedFinding(code=code, object=name, reason=reason.strip(), policy=policy))
    return tuple(accepted)
