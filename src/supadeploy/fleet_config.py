"""``[fleets.NAME]`` of supadeploy.toml: the environments one migration set is rolled out to, in waves.

    [fleets.tenants]
    members = ["tenant-a", "tenant-b", ...]   # environments of [environments.*], in rollout order
    # or: members_file = "tenants.csv"         # a row per member (supadeploy.fleet_members)
    canary = ["tenant-a"]                      # or a number: the first k members (default 1)
    wave_size = 10                             # members per wave after the canary (default: all the rest)
    parallel = 4                               # members deployed at once (default 4; --parallel)
    protected = true                           # members_file rows without a `protected` of their own

Every member is reached the way any environment is (supadeploy.targets.resolve), and the rules of a
protected environment apply to each member that is one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from supadeploy.errors import ConfigError

if TYPE_CHECKING:
    from supadeploy.config import ProjectConfig

DEFAULT_PARALLEL = 4
_KEYS = {"members", "members_file", "canary", "wave_size", "parallel", "protected"}


@dataclass(frozen=True)
class Fleet:
    name: str
    members: tuple[str, ...]
    waves: tuple[tuple[str, ...], ...]
    """The canary wave first, then waves of at most wave_size members, in the order of ``members``."""
    parallel: int = DEFAULT_PARALLEL
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The tags of the members that have some (members_file rows)."""

    def tagged(self, tags: tuple[str, ...]) -> tuple[str, ...]:
        """The members carrying any of ``tags``, in rollout order."""
        return tuple(member for member in self.members if set(self.tags.get(member, ())) & set(tags))


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
    parallel = _positive(project, name, table, "parallel", DEFAULT_PARALLEL)
    if "members_file" in table:
        return _file_fleet(project, name, table, parallel)
    if "protected" in table:
        raise project.section_error(f"[fleets.{name}] protected applies to the rows of a members_file",
                                    key="protected", fix="mark the members' [environments.NAME] protected = true")
    members = _members(project, name, table)
    return Fleet(name, members, _waves(project, name, table, members), parallel)


def _waves(project: ProjectConfig, name: str, table: dict[str, Any],
           members: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    canary = _canary(project, name, table.get("canary", 1), members)
    wave_size = _positive(project, name, table, "wave_size", len(members) or 1)
    rest = [member for member in members if member not in canary]
    waves = [canary, *(tuple(rest[start:start + wave_size]) for start in range(0, len(rest), wave_size))]
    return tuple(wave for wave in waves if wave)


def _file_fleet(project: ProjectConfig, name: str, table: dict[str, Any], parallel: int) -> Fleet:
    from supadeploy.fleet_members import fleet_rows

    if "members" in table:
        raise project.section_error(f"[fleets.{name}] has both members and members_file", key="members_file",
                                    fix="list the members in one of them")
    assert project.config_path is not None  # a fleet is configured in supadeploy.toml
    rows = fleet_rows(project.workdir, project.config_path, name, table)
    members = tuple(row.name for row in rows)
    tags = {row.name: row.tags for row in rows if row.tags}
    if rows[0].wave is None:
        return Fleet(name, members, _waves(project, name, table, members), parallel, tags)
    given = [key for key in ("canary", "wave_size") if key in table]
    if given:
        raise project.section_error(f"[fleets.{name}] sets {given[0]} while its members file gives every member "
                                    "a wave", key=given[0], fix=f"remove {given[0]}, or the file's wave column")
    numbers = sorted({row.wave for row in rows if row.wave is not None})
    if numbers != list(range(1, len(numbers) + 1)):
        gap = next(number for index, number in enumerate(numbers, start=1) if number != index)
        first = next(row for row in rows if row.wave == gap)
        raise ConfigError(f"member '{first.name}' is in wave {gap}, but wave {gap - 1} has no member",
                          where=first.where, fix="number the waves 1 (the canary), 2, 3, ... without gaps")
    waves = tuple(tuple(row.name for row in rows if row.wave == number) for number in numbers)
    return Fleet(name, members, waves, parallel, tags)


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
