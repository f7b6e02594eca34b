"""``[fleets.NAME]`` of supadeploy.toml: the environments one migration set is rolled out to, in waves.

    [fleets.tenants]
    members = ["tenant-a", "tenant-b", ...]   # environments of [environments.*], in rollout order
    canary = ["tenant-a"]                      # or a number: the first k members (default 1)
    wave_size = 10                             # members per wave after the canary (default: all the rest)
    parallel = 4                               # members deployed at once (default 4; --parallel)

Every member is reached the way any environment is (supadeploy.targets.resolve), and the rules of a
protected environment apply to each member that is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supadeploy.config import ProjectConfig

DEFAULT_PARALLEL = 4
_KEYS = {"members", "canary", "wave_size", "parallel"}


@dataclass(frozen=True)
class Fleet:
    name: str
    members: tuple[str, ...]
    waves: tuple[tuple[str, ...], ...]
    """The canary wave first, then waves of at most wave_size members, in the order of ``members``."""
    parallel: int = DEFAULT_PARALLEL


def load_fleet(project: ProjectConfig, name: str) -> Fleet:
    """The fleet ``name``; a ConfigError at its supadeploy.toml line when it is missing or malformed."""
    fleets = project.section("fleets")
    if name not in fleets:
        known = ", ".join(sorted(fleets)) or "none"
        raise project.section_error(f"fleet '{name}' is not configured (configured: {known})", key="fleets",
                                    fix=f'add [fleets.{name}] with members = ["env1", "env2"] to supadeploy.toml')
    table = fleets[name]
    if not isinstance(table, dict):
        raise project.section_error(f"[fleets.{name}] must be a table", key=name, fix="write [fleets.NAME]")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise project.section_error(f"unknown key '{unknown[0]}' in [fleets.{name}]", key=unknown[0],
                                    fix=f"use one of: {', '.join(sorted(_KEYS))}")
    members = _members(project, name, table)
    canary = _canary(project, name, table.get("canary", 1), members)
    wave_size = _positive(project, name, table, "wave_size", len(members) or 1)
    parallel = _positive(project, name, table, "parallel", DEFAULT_PARALLEL)
    rest = [member for member in members if member not in canary]
    waves = [canary, *(tuple(rest[start:start + wave_size]) for start in range(0, len(rest), wave_size))]
    return Fleet(name, members, tuple(wave for wave in waves if wave), parallel)


def _members(project: ProjectConfig, name: str, table: dict[str, Any]) -> tuple[str, ...]:
    members = table.get("members")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        raise project.section_error(f"[fleets.{name}] members must be a non-empty list of environment names",
                                    key="members", fix='write members = ["env1", "env2"]')
    if len(set(members)) != len(members):
        duplicate = next(member for member in members if members.count(member) > 1)
        raise project.section_error(f"[fleets.{name}] lists '{duplicate}' twice", key="members",
                                    fix="list each environment once")
    missing = [member for member in members if member not in project.environments]
    if missing:
        raise project.section_error(f"[fleets.{name}] member '{missing[0]}' is not an environment", key="members",
                                    fix=f"add [environments.{missing[0]}] or remove it from the fleet")
    return tuple(members)


def _canary(project: ProjectConfig, name: str, value: Any, members: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, bool) or not isinstance(value, (int, list)):
        raise project.section_error(f"[fleets.{name}] canary must be a number or a list of members", key="canary",
                                    fix='write canary = 1 or canary = ["env1"]')
    if isinstance(value, int):
        if value < 0 or value > len(members):
            raise project.section_error(f"[fleets.{name}] canary = {value} is not between 0 and {len(members)}",
                                        key="canary", fix="choose how many of the first members go first")
        return members[:value]
    strangers = [member for member in value if member not in members]
    if strangers:
        raise project.section_error(f"[fleets.{name}] canary '{strangers[0]}' is not one of its members",
                                    key="canary", fix="name members of the fleet")
    return tuple(member for member in members if member in value)


def _positive(project: ProjectConfig, name: str, table: dict[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise project.section_error(f"[fleets.{name}] {key} must be a whole number of at least 1", key=key,
                                    fix=f"write {key} = 4")
    return value
