"""The SQLAlchemy column type and the Python annotation of a Postgres type, as written in a generated module.

Types are the ones SQLAlchemy's own reflection gives (``Text``, ``String(n)``, ``Numeric(p, s)``,
``DateTime(timezone=True)``, ``UUID``, ``JSONB``, ``ARRAY(...)``, ...), so that ``create_all`` writes the
same DDL; annotations are what SQLAlchemy's psycopg dialect returns (``inet`` as ``str``, ranges as
``Range``). A domain is typed by its base type; a type SQLAlchemy does not know is ``NullType`` /
``Any``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from supadeploy.typegen.sqlalchemy_catalog import ModelType

# Built-in types: (SQLAlchemy type, where it is imported from, Python annotation).
_SCALARS: dict[str, tuple[str, str, str]] = {
    "bool": ("Boolean", "sqlalchemy", "bool"),
    "int2": ("SmallInteger", "sqlalchemy", "int"), "int4": ("Integer", "sqlalchemy", "int"),
    "int8": ("BigInteger", "sqlalchemy", "int"), "oid": ("OID", "postgresql", "int"),
    "float4": ("REAL", "sqlalchemy", "float"), "float8": ("DOUBLE_PRECISION", "sqlalchemy", "float"),
    "text": ("Text", "sqlalchemy", "str"), "name": ("String", "sqlalchemy", "str"),
    "char": ("String", "sqlalchemy", "str"), "citext": ("CITEXT", "postgresql", "str"),
    "uuid": ("UUID", "postgresql", "uuid.UUID"),
    "date": ("Date", "sqlalchemy", "datetime.date"),
    "interval": ("INTERVAL", "postgresql", "datetime.timedelta"),
    "json": ("JSON", "postgresql", "Any"), "jsonb": ("JSONB", "postgresql", "Any"),
    "jsonpath": ("JSONPATH", "postgresql", "str"),
    "bytea": ("LargeBinary", "sqlalchemy", "bytes"),
    "inet": ("INET", "postgresql", "str"), "cidr": ("CIDR", "postgresql", "str"),
    "macaddr": ("MACADDR", "postgresql", "str"), "macaddr8": ("MACADDR8", "postgresql", "str"),
    "money": ("MONEY", "postgresql", "str"), "tsvector": ("TSVECTOR", "postgresql", "str"),
    "tsquery": ("TSQUERY", "postgresql", "str"), "regclass": ("REGCLASS", "postgresql", "str"),
    "regconfig": ("REGCONFIG", "postgresql", "str"),
    "hstore": ("HSTORE", "postgresql", "dict[str, str | None]"),
    "int4range": ("INT4RANGE", "postgresql", "Range[int]"), "int8range": ("INT8RANGE", "postgresql", "Range[int]"),
    "numrange": ("NUMRANGE", "postgresql", "Range[decimal.Decimal]"),
    "daterange": ("DATERANGE", "postgresql", "Range[datetime.date]"),
    "tsrange": ("TSRANGE", "postgresql", "Range[datetime.datetime]"),
    "tstzrange": ("TSTZRANGE", "postgresql", "Range[datetime.datetime]"),
    **{name: (name.upper(), "postgresql", "Any")
       for name in ("int4multirange", "int8multirange", "nummultirange", "datemultirange", "tsmultirange",
                    "tstzmultirange")},
}
_EXTENSION_TYPES = frozenset({"citext", "hstore"})  # recognised in whatever schema the extension lives
_STANDARD_MODULES = ("datetime", "decimal", "uuid")
LINE_LENGTH = 120


@dataclass
class Imports:
    """What a generated module imports, collected while it is written."""

    names: dict[str, set[str]] = field(default_factory=lambda: {
        "sqlalchemy": set(), "sqlalchemy.dialects.postgresql": set(),
        "sqlalchemy.orm": {"DeclarativeBase", "Mapped", "mapped_column"}, "sqlalchemy.types": set()})
    modules: set[str] = field(default_factory=set)  # import datetime, ...
    typing: set[str] = field(default_factory=set)
    uses_postgres_type: bool = False  # the module's own PostgresType, for types SQLAlchemy does not know

    def add(self, source: str, name: str) -> None:
        """Import ``name`` from ``source``: sqlalchemy, postgresql (its dialect), orm or types."""
        self.names["sqlalchemy" if source == "sqlalchemy" else f"sqlalchemy.{source}" if source != "postgresql"
                   else "sqlalchemy.dialects.postgresql"].add(name)

    def annotation(self, text: str) -> str:
        """``text`` as written in a ``Mapped[...]``, with the imports it needs."""
        words = set(re.findall(r"\w+", text))
        self.modules.update(module for module in _STANDARD_MODULES if f"{module}." in text and module in words)
        if "Any" in words:
            self.typing.add("Any")
        if "Range" in words:
            self.add("postgresql", "Range")
        return text

    def lines(self) -> list[str]:
        standard = [f"import {module}" for module in sorted(self.modules)]
        if self.typing:
            standard.append(f"from typing import {', '.join(sorted(self.typing))}")
        third_party = [_from_import(module, sorted(names, key=_isort_key))
                       for module, names in sorted(self.names.items()) if names]
        return ["from __future__ import annotations", "", *standard, *([""] if standard else []), *third_party]


def _from_import(module: str, names: list[str]) -> str:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return line
    return f"from {module} import (\n" + "".join(f"    {name},\n" for name in names) + ")"


def _isort_key(name: str) -> tuple[int, str]:
    """isort's order within one ``from`` import: constants, then classes, then the rest."""
    if name.isupper() and len(name) > 1:
        return 0, name
    return (1 if name[0].isupper() else 2), name


@dataclass(frozen=True)
class ColumnType:
    expression: str  # the SQLAlchemy type, e.g. ``Numeric(20, 8)``
    annotation: str  # the Python type, e.g. ``decimal.Decimal``


class TypeMapper:
    """Column types of one module; enum classes are named by ``enum_class_names`` (type id -> class name)."""

    def __init__(self, types: dict[int, ModelType], enum_class_names: dict[int, str], imports: Imports) -> None:
        self.types = types
        self.enum_class_names = enum_class_names
        self.imports = imports

    def column_type(self, type_id: int, typmod: int, dimensions: int) -> ColumnType:
        pg_type = self.types.get(type_id)
        seen = 0
        while pg_type is not None and pg_type.kind == "d" and seen < 32:  # a domain: its base type
            typmod = pg_type.base_typmod if typmod < 0 else typmod
            pg_type = self.types.get(pg_type.base_id)
            seen += 1
        if pg_type is None:
            return self._unknown(None)
        if pg_type.category == "A" and pg_type.element_id:
            element = self.column_type(pg_type.element_id, typmod, 0)
            self.imports.add("postgresql", "ARRAY")
            depth = max(dimensions, 1)
            annotation = element.annotation
            for _ in range(depth):
                annotation = f"list[{annotation}]"
            extra = f", dimensions={depth}" if depth > 1 else ""
            return ColumnType(f"ARRAY({element.expression}{extra})", annotation)
        if pg_type.kind == "e" and pg_type.id in self.enum_class_names:
            self.imports.add("sqlalchemy", "Enum")
            name = self.enum_class_names[pg_type.id]
            return ColumnType(f"Enum({name}, name={_string(pg_type.name)}, schema={_string(pg_type.schema)}, "
                              "values_callable=enum_labels)", name)
        if pg_type.schema != "pg_catalog" and pg_type.name not in _EXTENSION_TYPES:
            return self._unknown(pg_type)
        return self._builtin(pg_type, typmod)

    def _builtin(self, pg_type: ModelType, typmod: int) -> ColumnType:
        modified = self._with_modifier(pg_type.name, typmod)
        if modified is not None:
            return modified
        if pg_type.name not in _SCALARS:
            return self._unknown(pg_type)
        expression, source, annotation = _SCALARS[pg_type.name]
        self.imports.add(source, expression)
        return ColumnType(expression, annotation)

    def _with_modifier(self, name: str, typmod: int) -> ColumnType | None:
        """Types whose SQLAlchemy type carries the modifier: lengths, precisions, time zones."""
        if name in ("varchar", "bpchar"):
            type_name = "String" if name == "varchar" else "CHAR"
            self.imports.add("sqlalchemy", type_name)
            return ColumnType(f"{type_name}({typmod - 4})" if typmod >= 4 else type_name, "str")
        if name == "numeric":
            self.imports.add("sqlalchemy", "Numeric")
            if typmod < 4:
                return ColumnType("Numeric", "decimal.Decimal")
            precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0x7FF
            scale = scale - 0x800 if scale & 0x400 else scale  # negative scales (PostgreSQL 15)
            return ColumnType(f"Numeric({precision}, {scale})", "decimal.Decimal")
        if name in ("timestamp", "timestamptz"):
            return self._temporal("DateTime", "TIMESTAMP", name == "timestamptz", typmod, "datetime.datetime")
        if name in ("time", "timetz"):
            return self._temporal("Time", "TIME", name == "timetz", typmod, "datetime.time")
        if name in ("bit", "varbit"):
            self.imports.add("postgresql", "BIT")
            arguments = [str(typmod)] if typmod >= 0 else []
            arguments += ["varying=True"] if name == "varbit" else []
            return ColumnType(f"BIT({', '.join(arguments)})" if arguments else "BIT", "str")
        return None

    def _temporal(self, generic: str, dialect: str, timezone: bool, precision: int, annotation: str) -> ColumnType:
        if precision < 0:
            self.imports.add("sqlalchemy", generic)
            return ColumnType(f"{generic}(timezone=True)" if timezone else generic, annotation)
        self.imports.add("postgresql", dialect)
        return ColumnType(f"{dialect}({'timezone=True, ' if timezone else ''}precision={precision})", annotation)

    def _unknown(self, pg_type: ModelType | None) -> ColumnType:
        """``PostgresType("schema.name")``: its DDL is the type's name; psycopg returns the values as text unless
        told otherwise. ``NullType`` when the type could not be read."""
        if pg_type is None:
            self.imports.add("types", "NullType")
            return ColumnType("NullType", "Any")
        self.imports.uses_postgres_type = True
        name = _quoted(pg_type.name) if pg_type.schema == "pg_catalog" else \
            f"{_quoted(pg_type.schema)}.{_quoted(pg_type.name)}"
        return ColumnType(f"PostgresType({_string(name)})", "Any")


def _quoted(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + name.replace('"', '""') + '"'


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
