"""SQLAlchemy 2.0 typed declarative models of a database (``supadeploy types --lang sqlalchemy``).

* A table with a primary key is a class of ``Base(DeclarativeBase)``: ``Mapped[...]`` / ``mapped_column``
  per column in table order, with its type, primary key, ``ForeignKey("schema.table.column")``,
  ``server_default=text(...)``, ``Identity(...)``, ``Computed(...)`` and comment; nullability follows the
  annotation (``Mapped[str | None]``). Composite primary, unique and foreign keys go in ``__table_args__``
  with the schema (``{"schema": "api"}``) and the table's comment.
* ``relationship()`` both ways for each foreign key between two classes, with ``back_populates``; when a
  table has several foreign keys to the same table, each relationship names its ``foreign_keys``.
* An enum is a Python ``enum.Enum`` (a ``str`` subclass whose values are the labels) and
  ``Enum(Class, name=..., schema=..., values_callable=enum_labels)``.
* Views, materialized views, foreign tables and tables without a primary key are ``Table`` objects
  (``t_<name>``): the ORM cannot map them, so ``Session.add`` never inserts into them; select from them with
  ``select(t_name)``. Views and materialized views carry ``info={"read_only": True}``.
* Tables of other schemas that a foreign key references are generated too (as SQLAlchemy's reflection
  loads them), so that every ``ForeignKey`` resolves.

Class names are the table's name in PascalCase, prefixed with the schema's outside ``public``
(``Users``, ``AuthUsers``, ``ApiWidgets``); attributes are the column names, changed only when Python or
SQLAlchemy cannot take them (the column name is then passed to ``mapped_column``).
"""

from __future__ import annotations

import json
import keyword
import re
import textwrap
import unicodedata
from dataclasses import dataclass

from supadeploy.typegen.sqlalchemy_catalog import Key, ModelCatalog, ModelColumn, ModelRelation, ModelType
from supadeploy.typegen.sqlalchemy_types import LINE_LENGTH, ColumnType, Imports, TypeMapper

INDENT = "    "
# Names a mapped attribute cannot take (declarative's own) or should not (it would hide an imported name
# inside the class body, where later column types are looked up).
_DECLARATIVE_NAMES = frozenset({"metadata", "registry", "type_annotation_map"})
_MODULE_NAMES = frozenset({
    "datetime", "decimal", "enum", "uuid", "Any", "Base", "enum_labels", "annotations", "text",
    "ARRAY", "BIT", "CHAR", "CIDR", "CITEXT", "DATEMULTIRANGE", "DATERANGE", "DOUBLE_PRECISION", "HSTORE", "INET",
    "INT4MULTIRANGE", "INT4RANGE", "INT8MULTIRANGE", "INT8RANGE", "INTERVAL", "JSON", "JSONB", "JSONPATH", "MACADDR",
    "MACADDR8", "MONEY", "NUMMULTIRANGE", "NUMRANGE", "OID", "REAL", "REGCLASS", "REGCONFIG", "TIME", "TIMESTAMP",
    "TSMULTIRANGE", "TSQUERY", "TSRANGE", "TSTZMULTIRANGE", "TSTZRANGE", "TSVECTOR", "UUID", "BigInteger", "Boolean",
    "Column", "Computed", "Date", "DateTime", "DeclarativeBase", "Enum", "ForeignKey", "ForeignKeyConstraint",
    "Identity", "Integer", "LargeBinary", "Mapped", "NullType", "Numeric", "PrimaryKeyConstraint", "Range",
    "SmallInteger", "String", "Table", "Text", "Time", "UniqueConstraint", "mapped_column", "relationship",
    "PostgresType", "UserDefinedType", "int", "str", "float", "bool", "bytes", "dict", "list", "object", "type", "None",
})


def generate_sqlalchemy(catalog: ModelCatalog, schemas: tuple[str, ...]) -> str:
    """The module of SQLAlchemy models for ``catalog`` (read for ``schemas``)."""
    return _ModuleWriter(catalog).write(schemas)


@dataclass(frozen=True)
class _Relationship:
    """One side of a foreign key between two mapped classes."""

    owner: int  # relation id of the class that gets the attribute
    other: int
    key: Key
    many_to_one: bool  # the side holding the foreign key
    name: str = ""
    other_name: str = ""


class _ModuleWriter:
    def __init__(self, catalog: ModelCatalog) -> None:
        self.catalog = catalog
        self.relations = {relation.id: relation for relation in catalog.relations}
        self.imports = Imports()
        self.taken: set[str] = set(_MODULE_NAMES)
        self.enums = self._enum_names()
        self.names = {relation.id: self._module_name(relation) for relation in catalog.relations}
        self.types = TypeMapper(catalog.types, self.enums, self.imports)
        self.attributes: dict[int, dict[str, str]] = {
            relation.id: self._attribute_names(relation) for relation in catalog.relations if self._mapped(relation)}
        self.relationships = self._relationships()

    # --- names ------------------------------------------------------------------------------------

    def _unique(self, base: str) -> str:
        candidate, number = base, 2
        while candidate in self.taken:
            candidate, number = f"{base}{number}", number + 1
        self.taken.add(candidate)
        return candidate

    def _enum_names(self) -> dict[int, str]:
        used = sorted((pg_type for pg_type in self.catalog.types.values() if pg_type.kind == "e"),
                      key=lambda pg_type: (pg_type.schema, pg_type.name))
        return {pg_type.id: self._unique(_class_name(pg_type.schema, pg_type.name)) for pg_type in used}

    def _module_name(self, relation: ModelRelation) -> str:
        if self._mapped(relation):
            return self._unique(_class_name(relation.schema, relation.name))
        prefix = "" if relation.schema == "public" else f"{relation.schema}_"
        return self._unique(_identifier(f"t_{prefix}{relation.name}"))

    def _mapped(self, relation: ModelRelation) -> bool:
        return relation.kind in ("r", "p") and relation.primary_key is not None

    def _attribute_names(self, relation: ModelRelation) -> dict[str, str]:
        taken = set(self.taken)
        names = {}
        for column in relation.columns:
            name = column.name
            if not (name.isidentifier() and unicodedata.normalize("NFKC", name) == name):
                name = _identifier(name)
            if keyword.iskeyword(name) or name in _DECLARATIVE_NAMES or name in self.taken \
                    or name.startswith("_sa_") or (name.startswith("__") and name.endswith("__")):
                name += "_"
            candidate, number = name, 2
            while candidate in taken:
                candidate, number = f"{name}_{number}", number + 1
            taken.add(candidate)
            names[column.name] = candidate
        return names

    # --- relationships ----------------------------------------------------------------------------

    def _relationships(self) -> dict[int, list[_Relationship]]:
        keys = [(relation, key) for relation in self.catalog.relations if self._mapped(relation)
                for key in relation.keys
                if key.type == "f" and not key.inherited and key.referenced_id in self.attributes]
        per_pair: dict[tuple[int, int], int] = {}
        for relation, key in keys:
            per_pair[relation.id, key.referenced_id] = per_pair.get((relation.id, key.referenced_id), 0) + 1
        sides: dict[int, list[_Relationship]] = {}
        taken = {relation_id: set(attributes.values()) for relation_id, attributes in self.attributes.items()}
        for relation, key in keys:
            parent = self.relations[key.referenced_id]
            ambiguous = per_pair[relation.id, parent.id] > 1
            child_name = _attribute(_many_to_one_name(key, relation, parent, ambiguous), taken[relation.id])
            parent_name = _attribute(_one_to_many_name(key, relation, parent, ambiguous), taken[parent.id])
            sides.setdefault(relation.id, []).append(
                _Relationship(relation.id, parent.id, key, True, child_name, parent_name))
            sides.setdefault(parent.id, []).append(
                _Relationship(parent.id, relation.id, key, False, parent_name, child_name))
        return sides

    def _relationship_line(self, side: _Relationship, ambiguous: bool) -> str:
        owner, other = self.relations[side.owner], self.relations[side.other]
        other_class = self.names[other.id]
        child = owner if side.many_to_one else other
        nullable = any(not column.not_null for column in child.columns if column.name in side.key.columns)
        if side.many_to_one:
            annotation = f"{other_class} | None" if nullable else other_class
        elif _is_unique(child, side.key.columns):
            annotation = f"{other_class} | None"
        else:
            annotation = f"list[{other_class}]"
        arguments = [f"back_populates={_string(side.other_name)}"]
        child_class = self.names[child.id]
        columns = [f"{child_class}.{self.attributes[child.id][name]}" for name in side.key.columns]
        if ambiguous or owner.id == other.id:
            arguments.append(f"foreign_keys={_string('[' + ', '.join(columns) + ']')}")
        if owner.id == other.id and side.many_to_one:
            referenced = [f"{child_class}.{self.attributes[child.id][name]}" for name in side.key.referenced_columns]
            arguments.append(f"remote_side={_string('[' + ', '.join(referenced) + ']')}")
        overlapping = self._overlapping(child, side.key)
        if overlapping:
            arguments.append(f"overlaps={_string(','.join(overlapping))}")
        self.imports.add("orm", "relationship")
        return INDENT + _call(f"{side.name}: Mapped[{annotation}] = relationship", arguments, INDENT)

    def _overlapping(self, child: ModelRelation, key: Key) -> list[str]:
        """The relationships of the other foreign keys of ``child`` that share a column with ``key`` (both write
        that column; SQLAlchemy wants them named)."""
        names: list[str] = []
        for side in self.relationships.get(child.id, []):
            if side.many_to_one and side.key != key and set(side.key.columns) & set(key.columns):
                names += [side.name, side.other_name]
        return sorted(set(names))

    # --- the module -------------------------------------------------------------------------------

    def write(self, schemas: tuple[str, ...]) -> str:
        enums = [self._enum_class(self.catalog.types[type_id]) for type_id in self.enums]
        relations = [self._class(relation) if relation.id in self.attributes else self._table(relation)
                     for relation in self.catalog.relations]
        blocks = ["class Base(DeclarativeBase):\n    pass"]
        if self.imports.uses_postgres_type:
            self.imports.add("types", "UserDefinedType")
            self.imports.typing.add("Any")
            blocks.append(_POSTGRES_TYPE)
        if enums:
            self.imports.modules.add("enum")
            blocks.append('def enum_labels(members: type[enum.Enum]) -> list[str]:\n'
                          '    """The labels an Enum column stores: its members\' values (not their names)."""\n'
                          '    return [str(member.value) for member in members]')
        blocks += enums + relations
        return _allow_long_lines(
            "\n".join([_docstring_header(schemas), "", *self.imports.lines(), "", "", "\n\n\n".join(blocks)]) + "\n")

    def _enum_class(self, pg_type: ModelType) -> str:
        lines = [f"class {self.enums[pg_type.id]}(str, enum.Enum):",
                 f"{INDENT}{_docstring(f'Enum {pg_type.schema}.{pg_type.name}.')}", ""]
        taken: set[str] = set()
        for label in pg_type.labels:
            lines.append(f"{INDENT}{_member_name(label, taken)} = {_string(label)}")
        return "\n".join(lines)

    def _class(self, relation: ModelRelation) -> str:
        about = _about(relation)
        lines = [f"class {self.names[relation.id]}(Base):",
                 f"{INDENT}{_docstring(f'{_kind(relation)} {relation.schema}.{relation.name}{about}')}", "",
                 f"{INDENT}__tablename__ = {_string(relation.name)}", self._table_args(relation), ""]
        primary_key = relation.primary_key
        names = self.attributes[relation.id]
        for column in relation.columns:
            lines.append(self._mapped_column(relation, column, names[column.name],
                                             primary_key is not None and column.name in primary_key.columns))
        sides = self.relationships.get(relation.id, [])
        if sides:
            lines.append("")
            for side in sides:
                count = sum(1 for other in sides if other.other == side.other and other.many_to_one == side.many_to_one)
                lines.append(self._relationship_line(side, count > 1))
        return "\n".join(lines)

    def _table_args(self, relation: ModelRelation) -> str:
        entries = self._constraints(relation, INDENT * 2)
        options = {"schema": relation.schema}
        if relation.comment:
            options["comment"] = relation.comment
        entries.append("{" + ", ".join(f"{_string(name)}: {_string(value)}" for name, value in options.items()) + "}")
        return f"{INDENT}__table_args__ = (\n" + "".join(f"{INDENT * 2}{entry},\n" for entry in entries) + f"{INDENT})"

    def _constraints(self, relation: ModelRelation, indent: str) -> list[str]:
        """The primary key, the unique keys and the foreign keys of several columns."""
        entries = []
        for key in relation.keys:
            if key.type == "p":
                self.imports.add("sqlalchemy", "PrimaryKeyConstraint")
                entries.append(_call("PrimaryKeyConstraint", [*map(_string, key.columns), f"name={_string(key.name)}"],
                                     indent))
            elif key.type == "u":
                self.imports.add("sqlalchemy", "UniqueConstraint")
                entries.append(_call("UniqueConstraint", [*map(_string, key.columns), f"name={_string(key.name)}"],
                                     indent))
            elif key.type == "f" and len(key.columns) > 1:
                self.imports.add("sqlalchemy", "ForeignKeyConstraint")
                referenced = [self._column_path(key.referenced_id, name) for name in key.referenced_columns]
                entries.append(_call("ForeignKeyConstraint", [
                    "[" + ", ".join(map(_string, key.columns)) + "]", "[" + ", ".join(map(_string, referenced)) + "]",
                    *_key_options(key)], indent))
        return entries

    def _column_path(self, relation_id: int, column: str) -> str:
        relation = self.relations[relation_id]
        return f"{relation.schema}.{relation.name}.{column}"

    def _column_arguments(self, relation: ModelRelation, column: ModelColumn, column_type: ColumnType) -> list[str]:
        arguments = [column_type.expression]
        for key in relation.keys:
            if key.type == "f" and key.columns == (column.name,):
                self.imports.add("sqlalchemy", "ForeignKey")
                target = self._column_path(key.referenced_id, key.referenced_columns[0])
                arguments.append(_call("ForeignKey", [_string(target), *_key_options(key)], INDENT * 2))
        if column.identity is not None:
            self.imports.add("sqlalchemy", "Identity")
            options = column.identity
            arguments.append(
                f"Identity(always={options.always}, start={options.start}, increment={options.increment}, "
                f"minvalue={options.minvalue}, maxvalue={options.maxvalue}, cycle={options.cycle}, "
                f"cache={options.cache})")
        if column.generated is not None:
            self.imports.add("sqlalchemy", "Computed")
            arguments.append(f"Computed({_string(column.generated)}, persisted=True)")
        return arguments

    def _mapped_column(self, relation: ModelRelation, column: ModelColumn, attribute: str, primary: bool) -> str:
        column_type = self.types.column_type(column.type_id, column.typmod, column.dimensions)
        arguments = self._column_arguments(relation, column, column_type)
        if attribute != column.name:
            arguments.insert(0, _string(column.name))
        if primary:
            arguments.append("primary_key=True")
        arguments += self._column_options(column)
        annotation = self.imports.annotation(
            column_type.annotation if column.not_null or primary else f"{column_type.annotation} | None")
        return INDENT + _call(f"{attribute}: Mapped[{annotation}] = mapped_column", arguments, INDENT)

    def _column_options(self, column: ModelColumn) -> list[str]:
        options = []
        if column.default is not None:
            self.imports.add("sqlalchemy", "text")
            options.append(f"server_default=text({_string(column.default)})")
        if column.comment:
            options.append(f"comment={_string(column.comment)}")
        return options

    def _table(self, relation: ModelRelation) -> str:
        self.imports.add("sqlalchemy", "Table")
        columns = []
        for column in relation.columns:
            self.imports.add("sqlalchemy", "Column")
            column_type = self.types.column_type(column.type_id, column.typmod, column.dimensions)
            arguments = [_string(column.name), *self._column_arguments(relation, column, column_type)]
            if column.not_null:
                arguments.append("nullable=False")
            columns.append(_call("Column", arguments + self._column_options(column), INDENT))
        options = [f"schema={_string(relation.schema)}"]
        if relation.comment:
            options.append(f"comment={_string(relation.comment)}")
        if relation.is_view:
            options.append('info={"read_only": True}')
        arguments = [_string(relation.name), "Base.metadata", *columns, *self._constraints(relation, INDENT), *options]
        body = "".join(f"{INDENT}{argument},\n" for argument in arguments)
        about = _about(relation).rstrip(".")
        comment = textwrap.wrap(f"{_kind(relation)} {relation.schema}.{relation.name}{about}", LINE_LENGTH - 2)
        return "".join(f"# {line}\n" for line in comment) + f"{self.names[relation.id]} = Table(\n{body})"


_POSTGRES_TYPE = '''class PostgresType(UserDefinedType[Any]):
    """A type SQLAlchemy does not know (xml, point, a composite type, ...): its values are passed through."""

    cache_ok = True

    def __init__(self, name: str) -> None:
        self.name = name

    def get_col_spec(self, **kw: Any) -> str:
        return self.name'''


# --- helpers ----------------------------------------------------------------------------------------


def _kind(relation: ModelRelation) -> str:
    return {"r": "Table", "p": "Partitioned table", "v": "View (read-only)", "m": "Materialized view (read-only)",
            "f": "Foreign table"}[relation.kind]


def _about(relation: ModelRelation) -> str:
    """What follows a relation's name in its docstring: why it is here, its comment."""
    reason = "" if relation.generated else " (referenced by a foreign key of the generated schemas)"
    return f"{reason}: {relation.comment}" if relation.comment else f"{reason}."


def _key_options(key: Key) -> list[str]:
    options = [f"name={_string(key.name)}"]
    if key.on_delete:
        options.append(f"ondelete={_string(key.on_delete)}")
    if key.on_update:
        options.append(f"onupdate={_string(key.on_update)}")
    if key.deferrable:
        options.append("deferrable=True")
        if key.deferred:
            options.append('initially="DEFERRED"')
    return options


def _is_unique(relation: ModelRelation, columns: tuple[str, ...]) -> bool:
    return any(key.type in ("p", "u") and set(key.columns) == set(columns) for key in relation.keys)


def _many_to_one_name(key: Key, child: ModelRelation, parent: ModelRelation, ambiguous: bool) -> str:
    """``user`` for ``user_id``; else the referenced table's name (with its schema when the names are equal)."""
    if len(key.columns) == 1 and key.columns[0].endswith("_id") and len(key.columns[0]) > 3:
        return key.columns[0][:-3]
    name = f"{parent.schema}_{parent.name}" if parent.name == child.name and parent.id != child.id else parent.name
    return f"{name}_by_{'_'.join(key.columns)}" if ambiguous else name


def _one_to_many_name(key: Key, child: ModelRelation, parent: ModelRelation, ambiguous: bool) -> str:
    """The referencing table's name (with its schema when the names are equal)."""
    name = f"{child.schema}_{child.name}" if parent.name == child.name and parent.id != child.id else child.name
    return f"{name}_by_{'_'.join(key.columns)}" if ambiguous else name


def _attribute(name: str, taken: set[str]) -> str:
    base = _identifier(name)
    if keyword.iskeyword(base) or base in _DECLARATIVE_NAMES or base in _MODULE_NAMES:
        base += "_"
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}_{number}", number + 1
    taken.add(candidate)
    return candidate


def _class_name(schema: str, name: str) -> str:
    pascal = _pascal_case(name)
    return _identifier(pascal if schema == "public" else _pascal_case(schema) + pascal, capitalize=True)


def _pascal_case(name: str) -> str:
    return "".join(word[0].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]", name) if word)


def _identifier(text: str, *, capitalize: bool = False) -> str:
    """A valid Python identifier made from ``text`` (ASCII letters, digits and underscores)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"\W+", "_", text).strip("_") or ("Model" if capitalize else "column")
    if text[0].isdigit():
        text = ("T" if capitalize else "c_") + text
    return text


def _member_name(label: str, taken: set[str]) -> str:
    name = re.sub(r"\W+", "_", unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode("ascii"))
    name = name.strip("_").upper() or "VALUE"
    if name[0].isdigit():
        name = "V_" + name
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    taken.add(candidate)
    return candidate


def _call(head: str, arguments: list[str], indent: str) -> str:
    """``head(arguments)`` written at ``indent``: on one line when it fits, else one argument per line (an
    argument that is itself a call was written for the deeper indent)."""
    line = f"{head}({', '.join(arguments)})"
    if len(indent) + len(line) <= LINE_LENGTH and "\n" not in line:
        return line
    inner = indent + INDENT
    return f"{head}(\n" + "".join(f"{inner}{argument},\n" for argument in arguments) + f"{indent})"


def _allow_long_lines(module: str) -> str:
    """Mark the lines that cannot be split further (a 63-character name, a long default) for ruff's E501."""
    return "\n".join(line if len(line) <= LINE_LENGTH else f"{line}  # noqa: E501" for line in module.split("\n"))


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _docstring(text: str) -> str:
    """A class docstring (indented once), wrapped to the line length."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = textwrap.wrap(" ".join(text.split()), LINE_LENGTH - len(INDENT) - 6)
    if len(lines) <= 1:
        return f'"""{"".join(lines)}"""'
    return '"""' + f"\n{INDENT}".join(lines) + f"\n{INDENT}" + '"""'


def _docstring_header(schemas: tuple[str, ...]) -> str:
    title = f"SQLAlchemy 2.0 models of the database schemas {', '.join(schemas)}.".replace("\\", "\\\\")
    return "\n".join([
        '"""' + "\n".join(textwrap.wrap(title.replace('"""', '\\"\\"\\"'), LINE_LENGTH - 3)),
        "",
        "Tables with a primary key are mapped classes; views, materialized views, foreign tables and tables",
        "without a primary key are Table objects (t_<name>) to query with select(); views are read-only.",
        '"""',
    ])
