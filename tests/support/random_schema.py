"""Seeded random schemas for differential tests of `supadeploy types` against postgres-meta.

Names of every length up to Postgres' 63-byte limit (so generated lines land on both sides of the
80-column print width), spaces, dashes, capitals, accents and CJK; enums (also in a schema that is not
generated), composite types, arrays, foreign keys (also composite and cross-schema), views selecting
foreign key columns, functions of every argument and return kind, computed fields, comments.
"""

from __future__ import annotations

import random

SCHEMAS = ("public", "s2")
_NAME_CHARACTERS = "abcdefghijklmnopqrstuvwxyz_" * 4 + "ABCXYZ0123456789 -$é名"
_BASE_TYPES = ("text", "int4", "int8", "bool", "jsonb", "json", "uuid", "timestamptz", "numeric", "date", "int4range",
               "tsvector", "bytea", "float8", "varchar(10)", "interval", "time")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _Generator:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.used: set[str] = set()
        self.statements = ["create schema s2;", "create schema hidden_s;"]
        self.enums: list[str] = []
        self.composites: list[str] = []
        self.tables: list[tuple[str, str, str, list[tuple[str, str]]]] = []  # schema, name, key, columns

    def name(self, longest: int = 63) -> str:
        while True:
            length = self.random.choice([1, 3, 8, 15, 25, 40, 55, longest])
            text = "".join(self.random.choice(_NAME_CHARACTERS) for _ in range(self.random.randint(1, length)))
            text = text.encode()[:63].decode(errors="ignore").strip() or "x"
            if text.lower() not in self.used:
                self.used.add(text.lower())
                return text

    def column_type(self) -> str:
        choice = self.random.choice([*_BASE_TYPES, *self.enums, *self.composites] or _BASE_TYPES)
        return choice + "[]" if self.random.random() < 0.2 else choice

    def types(self) -> None:
        for _ in range(self.random.randint(1, 4)):
            schema = self.random.choice(["public", "s2", "hidden_s"])
            values = list(dict.fromkeys(self.name(30) for _ in range(self.random.randint(1, 9))))
            name = f"{schema}.{_quote(self.name())}"
            self.statements.append(f"create type {name} as enum ({', '.join(map(_literal, values))});")
            self.enums.append(name)
        for _ in range(self.random.randint(0, 2)):
            name = f"public.{_quote(self.name(50))}"
            fields = ", ".join(f"{_quote(self.name(30))} {self.random.choice(_BASE_TYPES)}"
                               for _ in range(self.random.randint(1, 3)))
            self.statements.append(f"create type {name} as ({fields});")
            self.composites.append(name)

    def table(self) -> None:
        schema = self.random.choice(SCHEMAS)
        name = self.name()
        key = self.name(40)
        columns = [(self.name(), self.column_type()) for _ in range(self.random.randint(0, 7))]
        definitions = [f"{_quote(key)} int primary key"]
        for column, column_type in columns:
            constraint = self.random.choice(["", "", " not null", " default null", " unique"])
            if constraint == " unique" and column_type.endswith(("json", "[]", "tsvector", "range")):
                constraint = ""
            definitions.append(f"{_quote(column)} {column_type}{constraint}")
        if self.random.random() < 0.3:
            definitions.append(f"{_quote(self.name(30))} int generated always as identity")
        for other_schema, other, other_key, _ in self.random.sample(self.tables, min(len(self.tables), 2)):
            reference = self.name(50)
            unique = " unique" if self.random.random() < 0.3 else ""
            definitions.append(f"{_quote(reference)} int{unique} references {other_schema}.{_quote(other)}"
                               f"({_quote(other_key)})")
            columns.append((reference, "int"))
        self.statements.append(f"create table {schema}.{_quote(name)} ({', '.join(definitions)});")
        if self.random.random() < 0.4:
            self.statements.append(f"comment on table {schema}.{_quote(name)} is {_literal(self.name())};")
        self.tables.append((schema, name, key, columns))
        if self.random.random() < 0.6:
            picked = [key] + [column for column, _ in columns if self.random.random() < 0.6]
            selected = ", ".join(_quote(column) for column in picked)
            if self.random.random() < 0.3:
                selected += f", {_quote(key)} as {_quote(self.name(30))}"
            kind = "materialized view" if self.random.random() < 0.2 else "view"
            self.statements.append(f"create {kind} {schema}.{_quote(self.name())} as select {selected} "
                                   f"from {schema}.{_quote(name)};")

    def function(self) -> None:
        schema = self.random.choice(SCHEMAS)
        name = self.name()
        args: list[str] = []
        for _ in range(self.random.randint(0, 3)):
            argument_name = self.name(40) if self.random.random() < 0.85 else ""
            default = " default null" if self.random.random() < 0.3 or (args and "default" in args[-1]) else ""
            args.append(f"{_quote(argument_name) if argument_name else ''} {self.column_type()}{default}".strip())
        kind = self.random.random()
        if kind < 0.25 and self.tables:
            table_schema, table, _, _ = self.random.choice(self.tables)
            rows = " rows 1" if self.random.random() < 0.3 else ""
            returns = f"setof {table_schema}.{_quote(table)}{rows}"
            body = f"select * from {table_schema}.{_quote(table)}"
        elif kind < 0.4:
            output = [(self.name(30), self.random.choice(_BASE_TYPES)) for _ in range(self.random.randint(1, 3))]
            returns = "table (" + ", ".join(f"{_quote(column)} {column_type}" for column, column_type in output) + ")"
            body = "select " + ", ".join(f"null::{column_type}" for _, column_type in output) + " where false"
        elif kind < 0.5 and self.tables:
            table_schema, table, _, _ = self.random.choice(self.tables)
            args = [f"{table_schema}.{_quote(table)}"]  # a computed field (or not, for another schema)
            returns = self.random.choice(["text", "int4", "jsonb"])
            body = f"select null::{returns}"
        else:
            returns = self.random.choice([self.column_type(), "void", "setof int4", "record"])
            body = "select" if returns == "void" else "select row(1, 2)" if returns == "record" else (
                "select 1" if returns == "setof int4" else f"select null::{returns}")
        self.statements.append(f"create function {schema}.{_quote(name)}({', '.join(args)}) returns {returns} "
                               f"language sql as $body${body}$body$;")

    def build(self) -> str:
        self.types()
        for _ in range(self.random.randint(1, 6)):
            self.table()
        for _ in range(self.random.randint(0, 5)):
            self.function()
        return "\n".join(self.statements) + "\n"


def random_schema(seed: int) -> str:
    """The SQL of a random schema (in ``public`` and ``s2``, with types also in ``hidden_s``)."""
    return _Generator(seed).build()
