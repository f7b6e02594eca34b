"""Pydantic v2 models of a database: ``Row``, ``Insert`` and ``Update`` per table, ``Row`` (and the writes
it accepts) per view, a ``Literal`` alias per enum, a model per composite type.

The generated module is importable, ``mypy --strict`` clean, and validates both what psycopg returns and
what PostgREST returns as JSON. See docs/types.md for how it differs from postgres-meta's Python output.
"""

from __future__ import annotations

import json
import keyword
import re
import unicodedata
from dataclasses import dataclass, field, replace

from supadeploy.typegen.catalog import Catalog, Column, PgType, Relation

# Python type (as written in the generated module) of each built-in type, and the import it needs.
_SCALARS: dict[str, tuple[str, str | None]] = {
    "bool": ("bool", None),
    "int2": ("int", None), "int4": ("int", None), "int8": ("int", None), "oid": ("int", None),
    "float4": ("float", None), "float8": ("float", None),
    "numeric": ("Decimal", "from decimal import Decimal"),
    "text": ("str", None), "varchar": ("str", None), "bpchar": ("str", None), "char": ("str", None),
    "name": ("str", None), "citext": ("str", None), "xml": ("str", None), "bit": ("str", None),
    "varbit": ("str", None), "money": ("str", None), "macaddr": ("str", None), "macaddr8": ("str", None),
    "tsvector": ("str", None), "tsquery": ("str", None),
    "uuid": ("uuid.UUID", "import uuid"),
    "date": ("datetime.date", "import datetime"),
    "time": ("datetime.time", "import datetime"),
    # PostgREST writes a time zone offset without minutes ("12:00:00+02"), which pydantic does not parse.
    "timetz": ("datetime.time | str", "import datetime"),
    "timestamp": ("datetime.datetime", "import datetime"), "timestamptz": ("datetime.datetime", "import datetime"),
    # psycopg returns a timedelta, PostgREST the interval's text ("1 day 02:00:00").
    "interval": ("datetime.timedelta | str", "import datetime"),
    "json": ("JsonValue", None), "jsonb": ("JsonValue", None),
    "bytea": ("bytes", None),
    "inet": ("IPvAnyInterface", None), "cidr": ("IPvAnyNetwork", None),
    "record": ("dict[str, Any]", "from typing import Any"),
}
_PYDANTIC_NAMES = ("BaseModel", "ConfigDict", "Field", "IPvAnyInterface", "IPvAnyNetwork", "JsonValue")
# Names a field must not take: Python keywords, BaseModel's attributes, and the module's own names (pydantic
# resolves annotations in the class namespace first, so a field named ``datetime`` would hide the module).
_BASE_MODEL_ATTRIBUTES = frozenset({
    "construct", "copy", "dict", "from_orm", "json", "parse_file", "parse_obj", "parse_raw", "schema",
    "schema_json", "update_forward_refs", "validate", "fields", "model_config", "model_fields",
})
_IMPORTED = frozenset({"datetime", "uuid", "Decimal", "Any", "Literal", "TypeAlias", "UNSET", *_PYDANTIC_NAMES,
                       "annotations", "int", "str", "float", "bool", "bytes", "dict", "list", "None"})


@dataclass
class _Module:
    imports: set[str] = field(default_factory=set)
    pydantic: set[str] = field(default_factory=lambda: {"BaseModel", "ConfigDict"})
    typing: set[str] = field(default_factory=set)
    class_names: dict[tuple[str, str, str], str] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)
    uses_unset: bool = False


def pascal_case(name: str) -> str:
    """``user_profiles`` -> ``UserProfiles``, as postgres-meta names its classes."""
    return "".join(word[0].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]", name) if word)


def generate_python(catalog: Catalog, schemas: tuple[str, ...] | None = None) -> str:
    """The Python module for ``catalog``."""
    return _PythonGenerator(catalog).generate(schemas or tuple(schema.name for schema in catalog.schemas))


class _PythonGenerator:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.module = _Module()
        self.types_by_name = {(pg_type.schema, pg_type.name): pg_type for pg_type in catalog.types}
        self.types_by_id = {pg_type.id: pg_type for pg_type in catalog.types}
        self.schema_names = {schema.name for schema in catalog.schemas}
        self.relations = {relation.id: relation for relation in
                          (*catalog.tables, *catalog.foreign_tables, *catalog.views, *catalog.materialized_views)}
        self.relations_by_name = {(relation.schema, relation.name): relation for relation in self.relations.values()}
        self.columns: dict[int, list[Column]] = {}
        for column in catalog.columns:
            self.columns.setdefault(column.table_id, []).append(column)
        for columns in self.columns.values():
            columns.sort(key=lambda column: column.ordinal_position)
        self.enums: dict[tuple[str, str], PgType] = {}  # enums used, in first-use order
        self.composites: dict[tuple[str, str], PgType] = {}

    # --- names --------------------------------------------------------------------------------------

    def class_name(self, schema: str, name: str, kind: str, suffix: str = "") -> str:
        key = (kind + suffix, schema, name)
        if key not in self.module.class_names:
            base = _identifier(pascal_case(schema) + pascal_case(name) + suffix, capitalize=True)
            candidate = base
            number = 2
            while candidate in self.module.taken or candidate in _IMPORTED:
                candidate = f"{base}{number}"
                number += 1
            self.module.taken.add(candidate)
            self.module.class_names[key] = candidate
        return self.module.class_names[key]

    # --- types --------------------------------------------------------------------------------------

    def python_type(self, type_name: str, type_schema: str, dimensions: int = 0) -> str:
        if type_name.startswith("_"):
            element = self.python_type(type_name[1:], type_schema)
            element = f"({element})" if "|" in element else element
            result = element
            for _ in range(max(dimensions, 1)):
                result = f"list[{result}]"
            return result
        scalar = _SCALARS.get(type_name) if type_schema == "pg_catalog" or type_name == "citext" else None
        if scalar is not None:
            annotation, import_line = scalar
            if import_line:
                self.module.imports.add(import_line)
            for name in _PYDANTIC_NAMES:
                if name in annotation:
                    self.module.pydantic.add(name)
            return annotation
        pg_type = self.types_by_name.get((type_schema, type_name))
        if pg_type is not None and pg_type.kind == "d" and pg_type.base_type_id in self.types_by_id:
            base = self.types_by_id[pg_type.base_type_id]  # a domain over a domain: down to the base type
            return self.python_type(base.name, base.schema, dimensions)
        if pg_type is not None and pg_type.enums:
            self.enums.setdefault((pg_type.schema, pg_type.name), pg_type)
            return self.class_name(pg_type.schema, pg_type.name, "enum")
        if pg_type is not None and pg_type.attributes:
            self.composites.setdefault((pg_type.schema, pg_type.name), pg_type)
            return self.class_name(pg_type.schema, pg_type.name, "composite")
        relation = self.relations_by_name.get((type_schema, type_name))
        if relation is not None:
            return self.class_name(relation.schema, relation.name, "relation")
        self.module.imports.add("from typing import Any")
        return "Any"

    # --- classes ------------------------------------------------------------------------------------

    def _fields(self, columns: list[tuple[str, str, bool, str]]) -> list[str]:
        """Field lines from (column name, annotation, nullable, presence) with presence one of
        "required", "optional" (may be left out; None when nullable) or "row" (always present)."""
        lines = []
        taken: set[str] = set()
        for column_name, annotation, is_nullable, presence in columns:
            name = _field_name(column_name, taken | self.module.taken)
            taken.add(name)
            annotation = f"{annotation} | None" if is_nullable else annotation
            arguments = []
            if presence == "optional":
                # Left out unless set. A NOT NULL column's model keeps its type (None is refused when passed)
                # and defaults to UNSET, typed Any so that type checkers accept it.
                default = "None" if is_nullable else "UNSET"
                if default == "UNSET":
                    self.module.uses_unset = True
                arguments.append(f"default={default}")
            if name != column_name:
                arguments.append(f"alias={json.dumps(column_name, ensure_ascii=False)}")
            if not arguments:
                lines.append(f"    {name}: {annotation}")
            elif len(arguments) == 1 and presence == "optional":
                lines.append(f"    {name}: {annotation} = {arguments[0].removeprefix('default=')}")
            else:
                self.module.pydantic.add("Field")
                lines.append(f"    {name}: {annotation} = Field({', '.join(arguments)})")
        return lines

    def _class(self, name: str, docstring: str, config: str, fields: list[str]) -> str:
        body = [f"    {_docstring(docstring)}", "", f"    model_config = ConfigDict({config})"]
        if fields:
            body += ["", *fields]
        return f"class {name}(BaseModel):\n" + "\n".join(body)

    def _relation_classes(self, relation: Relation) -> list[str]:
        columns = self.columns.get(relation.id, [])
        kind = {"table": "table", "foreign_table": "foreign table", "view": "view",
                "materialized_view": "materialized view"}[relation.kind]
        title = f"{relation.schema}.{relation.name}"
        about = f": {relation.comment}" if relation.comment else ""
        columns = [self._through_domains(column) for column in columns]
        typed = [(column, self.python_type(column.format, column.type_schema, column.dimensions))
                 for column in columns]
        row_name = self.class_name(relation.schema, relation.name, "relation")
        classes = [self._class(row_name, f"A row of {kind} {title}{about}", "populate_by_name=True",
                               self._fields([(c.name, t, c.is_nullable, "row") for c, t in typed]))]
        if relation.kind in ("table", "foreign_table"):
            writable = [(c, t) for c, t in typed if c.identity_generation != "ALWAYS" and not c.is_generated]
            insert = [(c.name, t, c.is_nullable,
                       "optional" if c.is_nullable or c.is_identity or c.has_default else "required")
                      for c, t in writable]
            update = [(c.name, t, c.is_nullable, "optional") for c, t in writable]
        else:
            writable = [(c, t) for c, t in typed if c.is_updatable]
            insert = [(c.name, t, True, "optional") for c, t in writable] if relation.is_insert_enabled else []
            update = [(c.name, t, True, "optional") for c, t in writable] if relation.is_update_enabled else []
        writes_table = relation.kind in ("table", "foreign_table")
        if writes_table or relation.is_insert_enabled:
            classes.append(self._class(
                self.class_name(relation.schema, relation.name, "relation", "Insert"),
                f"A row to insert into {kind} {title}", "extra=\"forbid\", populate_by_name=True",
                self._fields(insert)))
        if writes_table or relation.is_update_enabled:
            classes.append(self._class(
                self.class_name(relation.schema, relation.name, "relation", "Update"),
                f"Changes to a row of {kind} {title}", "extra=\"forbid\", populate_by_name=True",
                self._fields(update)))
        return classes

    def _through_domains(self, column: Column) -> Column:
        """A column of a domain over a domain is NOT NULL when any domain of the chain is."""
        pg_type = self.types_by_id.get(column.type_id)
        not_null = not column.is_nullable
        seen = 0
        while pg_type is not None and pg_type.kind == "d" and seen < 32:
            not_null = not_null or pg_type.not_null
            pg_type = self.types_by_id.get(pg_type.base_type_id)
            seen += 1
        return replace(column, is_nullable=False) if not_null and column.is_nullable else column

    def _composite_class(self, pg_type: PgType) -> str:
        attributes = []
        types_by_id = {candidate.id: candidate for candidate in self.catalog.types}
        for attribute in pg_type.attributes:
            attribute_type = types_by_id.get(attribute.type_id)
            annotation = self.python_type(attribute_type.name, attribute_type.schema) if attribute_type else "Any"
            if annotation == "Any":
                self.module.imports.add("from typing import Any")
            attributes.append((attribute.name, annotation, True, "optional"))
        about = f": {pg_type.comment}" if pg_type.comment else ""
        return self._class(self.class_name(pg_type.schema, pg_type.name, "composite"),
                           f"Composite type {pg_type.schema}.{pg_type.name}{about}", "populate_by_name=True",
                           self._fields(attributes))

    def generate(self, schemas: tuple[str, ...]) -> str:
        catalog = self.catalog
        for pg_type in catalog.types:
            if pg_type.schema in self.schema_names and pg_type.enums:
                self.enums.setdefault((pg_type.schema, pg_type.name), pg_type)
                self.class_name(pg_type.schema, pg_type.name, "enum")
            if pg_type.schema in self.schema_names and pg_type.attributes:
                self.composites.setdefault((pg_type.schema, pg_type.name), pg_type)
                self.class_name(pg_type.schema, pg_type.name, "composite")
        relations = [*catalog.tables, *catalog.foreign_tables, *catalog.views, *catalog.materialized_views]
        for relation in relations:
            self.class_name(relation.schema, relation.name, "relation")
        relation_classes = [text for relation in relations for text in self._relation_classes(relation)]
        composite_classes: list[str] = []
        done: set[tuple[str, str]] = set()
        while len(done) < len(self.composites):  # composites may pull in more composites
            for key, pg_type in list(self.composites.items()):
                if key not in done:
                    done.add(key)
                    composite_classes.append(self._composite_class(pg_type))
        enum_lines = []
        for pg_type in self.enums.values():
            self.module.typing.update({"Literal", "TypeAlias"})
            values = ", ".join(json.dumps(value, ensure_ascii=False) for value in pg_type.enums)
            enum_lines.append(f"{self.class_name(pg_type.schema, pg_type.name, 'enum')}: TypeAlias = Literal[{values}]")
        sections = [self._header(schemas)]
        if self.module.uses_unset:
            sections.append("# The default of a NOT NULL column that may be left out of an insert or update. Models\n"
                            "# keep it out of their output with model_dump(exclude_unset=True).\nUNSET: Any = None")
        if enum_lines:
            sections.append("\n".join(enum_lines))
        body = "\n\n\n".join([*composite_classes, *relation_classes])
        return "\n\n".join(sections) + ("\n\n\n" + body if body else "") + "\n"

    def _header(self, schemas: tuple[str, ...]) -> str:
        listed = ", ".join(schemas)
        lines = [
            f'"""Pydantic models of the database schemas {listed}.',
            "",
            "Generated by `supadeploy types --lang python`; do not edit. Row models validate what a select",
            "returns; Insert and Update models validate what you write: send",
            "``model.model_dump(mode=\"json\", by_alias=True, exclude_unset=True)``.",
            '"""',
            "",
            "from __future__ import annotations",
            "",
        ]
        standard = sorted(line for line in self.module.imports if line.startswith("import "))
        standard += sorted(line for line in self.module.imports if line.startswith("from ") and "typing" not in line)
        typing_names = set(self.module.typing)
        if "from typing import Any" in self.module.imports or self.module.uses_unset:
            typing_names.add("Any")
        if typing_names:
            standard.append(f"from typing import {', '.join(sorted(typing_names))}")
        if standard:
            lines += [*sorted(standard, key=lambda line: (line.startswith("from "), line.split()[1])), ""]
        lines.append(f"from pydantic import {', '.join(sorted(self.module.pydantic))}")
        return "\n".join(lines)


def _docstring(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').replace("\n", " ").replace("\r", " ")
    return f'"""{text}"""'


def _identifier(text: str, *, capitalize: bool = False) -> str:
    """A valid, stable Python identifier made from ``text``."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\W+", "_", text).strip("_")
    if not text or not text.isidentifier():
        text = "_".join(part for part in re.split(r"[^A-Za-z0-9]+", text) if part)
    if not text:
        text = "Field" if capitalize else "field"
    if text[0].isdigit():
        text = ("T" if capitalize else "f_") + text
    return text


def _field_name(column: str, taken: set[str]) -> str:
    """The attribute name for a column: the column's own name when Python and pydantic allow it."""
    name = column
    if not (name.isidentifier() and unicodedata.normalize("NFKC", name) == name):
        name = _identifier(name)
    name = name.lstrip("_") or "field"
    if name[0].isdigit():
        name = "f_" + name
    if keyword.iskeyword(name) or name in _BASE_MODEL_ATTRIBUTES \
            or name.startswith("model_") or name in _IMPORTED:
        name += "_"
    candidate = name
    number = 2
    while candidate in taken:
        candidate = f"{name}_{number}"
        number += 1
    return candidate
