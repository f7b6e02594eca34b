"""What the Management API returns, as typed dataclasses (only the fields supadeploy uses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from supadeploy.management_api.errors import UnexpectedResponse


def _field(document: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    value = document.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UnexpectedResponse(f"{what} has no valid '{key}'")
    return value


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise UnexpectedResponse(f"{what} is not a JSON object")
    return value


def _array(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise UnexpectedResponse(f"{what} is not a JSON array")
    return value


@dataclass(frozen=True)
class Project:
    ref: str
    name: str
    region: str
    status: str
    organization_slug: str
    created_at: str
    database_host: str | None
    database_version: str | None

    HEALTHY = "ACTIVE_HEALTHY"

    @property
    def healthy(self) -> bool:
        return self.status == self.HEALTHY

    @classmethod
    def from_json(cls, value: Any) -> Project:
        document = _object(value, "a project")
        database = document.get("database")
        database = database if isinstance(database, Mapping) else {}
        return cls(
            ref=_field(document, "ref", str, "a project"),
            name=_field(document, "name", str, "a project"),
            region=_field(document, "region", str, "a project"),
            status=_field(document, "status", str, "a project"),
            organization_slug=str(document.get("organization_slug") or document.get("organization_id") or ""),
            created_at=str(document.get("created_at") or ""),
            database_host=database.get("host") if isinstance(database.get("host"), str) else None,
            database_version=database.get("version") if isinstance(database.get("version"), str) else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ref": self.ref, "region": self.region, "status": self.status,
                "organization": self.organization_slug, "created_at": self.created_at}


@dataclass(frozen=True)
class ServiceHealth:
    name: str
    status: str
    healthy: bool
    error: str | None

    @classmethod
    def from_json(cls, value: Any) -> ServiceHealth:
        document = _object(value, "a service health entry")
        return cls(
            name=_field(document, "name", str, "a service health entry"),
            status=_field(document, "status", str, "a service health entry"),
            healthy=bool(document.get("healthy")),
            error=document.get("error") if isinstance(document.get("error"), str) else None,
        )


@dataclass(frozen=True)
class PoolerConfig:
    identifier: str
    database_type: str
    pool_mode: str
    db_user: str
    db_host: str
    db_port: int
    db_name: str
    connection_string: str

    @classmethod
    def from_json(cls, value: Any) -> PoolerConfig:
        document = _object(value, "a pooler configuration")
        what = "a pooler configuration"
        return cls(
            identifier=str(document.get("identifier") or ""),
            database_type=str(document.get("database_type") or "PRIMARY"),
            pool_mode=_field(document, "pool_mode", str, what),
            db_user=_field(document, "db_user", str, what),
            db_host=_field(document, "db_host", str, what),
            db_port=_field(document, "db_port", int, what),
            db_name=_field(document, "db_name", str, what),
            connection_string=str(document.get("connection_string") or ""),
        )


@dataclass(frozen=True)
class MigrationVersion:
    version: str
    name: str | None

    @classmethod
    def from_json(cls, value: Any) -> MigrationVersion:
        document = _object(value, "a migration")
        name = document.get("name")
        return cls(version=_field(document, "version", str, "a migration"),
                   name=name if isinstance(name, str) else None)


@dataclass(frozen=True)
class RestorePoint:
    name: str
    status: str
    completed_on: str | None

    @classmethod
    def from_json(cls, value: Any) -> RestorePoint:
        document = _object(value, "a restore point")
        completed = document.get("completed_on")
        return cls(name=_field(document, "name", str, "a restore point"),
                   status=_field(document, "status", str, "a restore point"),
                   completed_on=completed if isinstance(completed, str) else None)


def projects_from_json(value: Any) -> list[Project]:
    return [Project.from_json(item) for item in _array(value, "the project list")]


def health_from_json(value: Any) -> list[ServiceHealth]:
    return [ServiceHealth.from_json(item) for item in _array(value, "the health list")]


def pooler_configs_from_json(value: Any) -> list[PoolerConfig]:
    return [PoolerConfig.from_json(item) for item in _array(value, "the pooler configuration")]


def migrations_from_json(value: Any) -> list[MigrationVersion]:
    return [MigrationVersion.from_json(item) for item in _array(value, "the migration list")]


def typescript_from_json(value: Any) -> str:
    return str(_field(_object(value, "the types response"), "types", str, "the types response"))
