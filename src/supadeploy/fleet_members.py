"""``members_file`` of a ``[fleets.NAME]``: the members of a large fleet, one row each, outside supadeploy.toml.

    [fleets.tenants]
    members_file = "tenants.csv"     # relative to the project folder; .csv, .toml or .json

A row names a member and says how it is reached, as an ``[environments.NAME]`` would:

    name,db_url_env,project_ref,tags,wave,protected
    acme,ACME_DB_URL,,eu;paying,1,true
    globex,,abcdefghijklmnopqrst,us,2,

- ``name`` (required), and ``db_url_env`` (the variable holding its URL) and/or ``project_ref`` (reached over
  the pooler or the Management API, as any environment with a project_ref);
- ``tags``: words to select members by (``fleet push NAME --tag eu``); in CSV separated by ``;`` or spaces;
- ``wave``: the member's wave, 1 being the canary (then every row gives one, and the fleet sets no canary or
  wave_size);
- ``protected``: the rules of a protected environment (default: the fleet's ``protected``, else false).

A TOML file holds ``[[members]]`` tables, a JSON file a list of objects (or ``{"members": [...]}``). Each member
becomes an environment of the project (loaded with supadeploy.toml, so every command reaches it by name); a
name that is also an ``[environments.*]`` entry, or appears twice, is an error at file:line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supadeploy.errors import ConfigError

if TYPE_CHECKING:
    from supadeploy.config import EnvironmentConfig

_FIELDS = ("name", "db_url_env", "project_ref", "tags", "wave", "protected")
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROJECT_REF = re.compile(r"[a-z0-9]{20}")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0", ""}


@dataclass(frozen=True)
class MemberRow:
    name: str
    where: str
    """file:line of the row, for messages."""
    db_url_env: str | None = None
    project_ref: str | None = None
    tags: tuple[str, ...] = ()
    wave: int | None = None
    protected: bool | None = None
    """None: the fleet's ``protected``."""


_rows_read: dict[tuple[str, str], list[MemberRow]] = {}
"""The last members files parsed, by path and text: every member's command loads the project again."""


def read_members_file(path: Path, shown: str) -> list[MemberRow]:
    """The rows of ``path`` (``shown``: how messages name it), checked; parsed once per text of the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read members file {shown}: {error.__class__.__name__}", where=shown,
                          fix="check the file's permissions and that it is UTF-8") from None
    key = (str(path), text)
    rows = _rows_read.get(key)
    if rows is None:
        rows = _rows(path, text, shown)
        if len(_rows_read) > 8:
            _rows_read.clear()
        _rows_read[key] = rows
    return rows


def _rows(path: Path, text: str, shown: str) -> list[MemberRow]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = _csv_rows(text, shown)
    elif suffix == ".json":
        raw = _json_rows(text, shown)
    elif suffix == ".toml":
        raw = _toml_rows(text, path, shown)
    else:
        raise ConfigError(f"members file {shown}: unknown kind '{path.suffix or path.name}'", where=shown,
                          fix="use a .csv, .toml or .json file")
    rows = [_row(values, where) for values, where in raw]
    if not rows:
        raise ConfigError(f"members file {shown} lists no member", where=shown, fix="add a row per member")
    seen: dict[str, str] = {}
    for row in rows:
        if row.name in seen:
            raise ConfigError(f"member '{row.name}' is listed twice (first at {seen[row.name]})", where=row.where,
                              fix="list each member once")
        seen[row.name] = row.where
    waved = [row for row in rows if row.wave is not None]
    if waved and len(waved) != len(rows):
        unwaved = next(row for row in rows if row.wave is None)
        raise ConfigError(f"member '{unwaved.name}' has no wave while others have one", where=unwaved.where,
                          fix="give every row a wave (1 is the canary), or none")
    return rows


def _csv_rows(text: str, shown: str) -> list[tuple[dict[str, Any], str]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    if "name" not in header:
        raise ConfigError(f"members file {shown} has no 'name' column", where=f"{shown}:1",
                          fix=f"start it with a header line, e.g. {','.join(_FIELDS)}")
    unknown = [name for name in header if name not in _FIELDS]
    if unknown:
        raise ConfigError(f"members file {shown}: unknown column '{unknown[0]}'", where=f"{shown}:1",
                          fix=f"columns: {', '.join(_FIELDS)}")
    rows = []
    for values in reader:
        if values.get(None):
            raise ConfigError("more values than columns", where=f"{shown}:{reader.line_num}",
                              fix="quote a value that holds a comma")
        cleaned = {key.strip(): (value or "").strip() for key, value in values.items() if key is not None}
        if any(cleaned.values()):
            rows.append(({key: value for key, value in cleaned.items() if value}, f"{shown}:{reader.line_num}"))
    return rows


def _json_rows(text: str, shown: str) -> list[tuple[dict[str, Any], str]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"members file {shown} is not JSON: {error.msg}", where=f"{shown}:{error.lineno}",
                          fix="fix the syntax") from None
    if isinstance(document, dict) and set(document) == {"members"}:
        document = document["members"]
    if not isinstance(document, list):
        raise ConfigError(f"members file {shown} must hold a list of members", where=shown,
                          fix='write [{"name": "acme", "db_url_env": "ACME_DB_URL"}, ...]')
    lines = text.splitlines()
    return [(row, _where_named(row, lines, shown)) for row in document]


def _toml_rows(text: str, path: Path, shown: str) -> list[tuple[dict[str, Any], str]]:
    from supadeploy.toml_files import TOMLDecodeError, invalid_toml, loads

    try:
        document = loads(text)
    except TOMLDecodeError as error:
        invalid = invalid_toml(path, error)
        raise ConfigError(invalid.what, where=(invalid.where or shown).replace(str(path), shown),
                          fix=invalid.fix) from None
    members = document.get("members")
    if set(document) != {"members"} or not isinstance(members, list):
        raise ConfigError(f"members file {shown} must hold [[members]] tables only", where=shown,
                          fix='write [[members]] name = "acme" db_url_env = "ACME_DB_URL"')
    headers = [number for number, line in enumerate(text.splitlines(), start=1) if line.strip() == "[[members]]"]
    return [(row, f"{shown}:{headers[index]}" if index < len(headers) else shown)
            for index, row in enumerate(members)]


def _where_named(row: Any, lines: list[str], shown: str) -> str:
    name = row.get("name") if isinstance(row, dict) else None
    if isinstance(name, str):
        for number, line in enumerate(lines, start=1):
            if json.dumps(name) in line:
                return f"{shown}:{number}"
    return shown


def _row(values: Any, where: str) -> MemberRow:
    if not isinstance(values, dict):
        raise ConfigError("a member must be a table of name, db_url_env, project_ref, ...", where=where,
                          fix='write {"name": "acme", "db_url_env": "ACME_DB_URL"}')
    unknown = [key for key in values if key not in _FIELDS]
    if unknown:
        raise ConfigError(f"unknown field '{unknown[0]}'", where=where, fix=f"fields: {', '.join(_FIELDS)}")
    name = values.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"member name {json.dumps(name)} is not valid", where=where,
                          fix="use letters, digits, '-' and '_'")
    db_url_env = _text(values, "db_url_env", where)
    if db_url_env is not None and not _VARIABLE.fullmatch(db_url_env):
        raise ConfigError(f"member '{name}': db_url_env '{db_url_env}' is not an environment variable name",
                          where=where, fix="write the variable's name, e.g. ACME_DB_URL")
    project_ref = _text(values, "project_ref", where)
    if project_ref is not None and not _PROJECT_REF.fullmatch(project_ref):
        raise ConfigError(f"member '{name}': project_ref '{project_ref}' is not a project ref", where=where,
                          fix="a project ref is 20 lowercase letters and digits (Project Settings → General)")
    if db_url_env is None and project_ref is None:
        raise ConfigError(f"member '{name}' says neither db_url_env nor project_ref", where=where,
                          fix="give the variable holding its database URL, or its project ref")
    return MemberRow(name, where, db_url_env, project_ref, _tags(values.get("tags"), name, where),
                     _wave(values.get("wave"), name, where), _protected(values.get("protected"), name, where))


def _text(values: dict[str, Any], key: str, where: str) -> str | None:
    value = values.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string", where=where, fix=f'write {key} = "..."')
    return value


def _tags(value: Any, name: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    words = re.split(r"[;\s]+", value) if isinstance(value, str) else value
    if not isinstance(words, list) or not all(isinstance(word, str) and _NAME.fullmatch(word)
                                              for word in words if word):
        raise ConfigError(f"member '{name}': tags must be words (letters, digits, '-', '_')", where=where,
                          fix='write tags as "eu;paying" in CSV, ["eu", "paying"] in TOML or JSON')
    return tuple(word for word in words if word)


def _wave(value: Any, name: str, where: str) -> int | None:
    if value is None:
        return None
    number = int(value) if isinstance(value, str) and value.isdigit() else value
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ConfigError(f"member '{name}': wave {json.dumps(value)} is not a whole number of at least 1",
                          where=where, fix="wave 1 is the canary, then 2, 3, ...")
    return number


def _protected(value: Any, name: str, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE if value else None
    raise ConfigError(f"member '{name}': protected {json.dumps(value)} is not true or false", where=where,
                      fix="write true or false")


def member_environments(workdir: Path, config_path: Path, fleets: Any,
                        environments: dict[str, EnvironmentConfig]) -> dict[str, EnvironmentConfig]:
    """The environments the fleets' members files add to supadeploy.toml's ``environments``."""
    from supadeploy.config import _line_of

    added: dict[str, EnvironmentConfig] = {}
    if not isinstance(fleets, dict):
        return added
    for fleet_name, table in fleets.items():
        if not isinstance(table, dict) or "members_file" not in table:
            continue
        fleet_protected = table.get("protected", False)
        if not isinstance(fleet_protected, bool):
            raise ConfigError(f"[fleets.{fleet_name}] protected must be true or false",
                              where=_line_of(config_path, "protected", section=f"fleets.{fleet_name}"),
                              fix="write protected = true")
        rows = fleet_rows(workdir, config_path, fleet_name, table)
        for row in rows:
            if row.name in environments or row.name in added:
                other = f"[environments.{row.name}]" if row.name in environments else "a member of another fleet file"
                raise ConfigError(f"member '{row.name}' of [fleets.{fleet_name}] is also {other}",
                                  where=row.where, fix="give each environment one definition")
        added.update(_environments_of(rows, fleet_protected))
    return added


_environments_made: dict[tuple[int, bool], tuple[list[MemberRow], dict[str, EnvironmentConfig]]] = {}


def _environments_of(rows: list[MemberRow], fleet_protected: bool) -> dict[str, EnvironmentConfig]:
    """The rows as environments, made once per parsed file (``rows`` is kept alive beside them, so its id is
    not reused while the entry lives)."""
    from supadeploy.config import EnvironmentConfig

    made = _environments_made.get((id(rows), fleet_protected))
    if made is None or made[0] is not rows:
        made = (rows, {row.name: EnvironmentConfig(
            name=row.name, db_url_env=row.db_url_env, project_ref=row.project_ref,
            protected=fleet_protected if row.protected is None else row.protected) for row in rows})
        if len(_environments_made) > 8:
            _environments_made.clear()
        _environments_made[(id(rows), fleet_protected)] = made
    return made[1]


def fleet_rows(workdir: Path, config_path: Path, fleet_name: str, table: dict[str, Any]) -> list[MemberRow]:
    """The checked rows of the members file of ``[fleets.fleet_name]``."""
    from supadeploy.config import _line_of

    value = table["members_file"]
    where = _line_of(config_path, "members_file", section=f"fleets.{fleet_name}")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"[fleets.{fleet_name}] members_file must be a file name", where=where,
                          fix='write members_file = "tenants.csv"')
    relative = Path(value)
    if relative.is_absolute() or ".." in relative.parts:
        raise ConfigError(f"[fleets.{fleet_name}] members_file must be a file inside the project, written "
                          f"relative to it, not '{value}'", where=where, fix='write members_file = "tenants.csv"')
    if not (workdir / relative).is_file():
        raise ConfigError(f"[fleets.{fleet_name}] members_file {relative.as_posix()} does not exist", where=where,
                          fix="create it (a row per member), or correct members_file")
    return read_members_file(workdir / relative, relative.as_posix())
