"""Functions and procedures defined by the pending migrations, and the calls that run them.

A call made by a pending migration (``SELECT public.wipe()``, ``PERFORM``, ``CALL``, a call inside any
expression, a write that fires a trigger the pending migrations created) to a function the pending
migrations define or replace before it runs that definition's body: :mod:`supadeploy.lint.sources` checks
the body as if it were written at the call. Functions are matched by qualified name (``public`` when
unqualified) and number of arguments.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pglast import ast
from pglast.enums import FunctionParameterMode

from supadeploy.lint.parse import ParsedFile, ParsedStatement, walk

_INPUT_MODES = {FunctionParameterMode.FUNC_PARAM_IN, FunctionParameterMode.FUNC_PARAM_INOUT,
                FunctionParameterMode.FUNC_PARAM_VARIADIC, FunctionParameterMode.FUNC_PARAM_DEFAULT}


@dataclass(frozen=True)
class SourceFile:
    """A pending migration: ``name`` orders it among the others, ``display`` is how findings name it."""

    name: str
    display: str
    parsed: ParsedFile

    def line(self, offset: int) -> int:
        return self.parsed.line_column(offset)[0]

    def where(self, offset: int) -> str:
        return f"{self.display}:{self.line(offset)}"


@dataclass(frozen=True)
class FunctionDefinition:
    name: str
    """Qualified, lower case: ``public.wipe``."""
    fewest_arguments: int
    most_arguments: int | None
    """None for a VARIADIC function."""
    statement: ParsedStatement
    file: SourceFile

    @property
    def position(self) -> tuple[str, int]:
        return self.file.name, self.statement.start

    def accepts(self, argument_count: int) -> bool:
        return self.fewest_arguments <= argument_count and (self.most_arguments is None
                                                              or argument_count <= self.most_arguments)


def function_definitions(file: SourceFile) -> Iterator[FunctionDefinition]:
    """The CREATE [OR REPLACE] FUNCTION / PROCEDURE statements of ``file``."""
    for statement in file.parsed.statements:
        node = statement.node
        if not isinstance(node, ast.CreateFunctionStmt):
            continue
        inputs = [p for p in node.parameters or ()
                  if isinstance(p, ast.FunctionParameter) and p.mode in _INPUT_MODES]
        variadic = any(p.mode == FunctionParameterMode.FUNC_PARAM_VARIADIC for p in inputs)
        required = [p for p in inputs if p.defexpr is None and p.mode != FunctionParameterMode.FUNC_PARAM_VARIADIC]
        yield FunctionDefinition(name=function_name(node.funcname), fewest_arguments=len(required),
                                 most_arguments=None if variadic else len(inputs), statement=statement, file=file)


def function_name(names: tuple[ast.Node, ...] | None) -> str:
    parts = [n.sval or "" for n in names or () if isinstance(n, ast.String)]
    return ".".join(["public", *parts] if len(parts) == 1 else parts).lower()


@dataclass(frozen=True)
class FunctionCall:
    name: str
    argument_count: int
    offset: int
    """File offset of the call."""
    how: str = ""
    """How the statement runs the function, for messages: ``calls public.wipe()`` unless told."""

    @property
    def described(self) -> str:
        return self.how or f"calls {self.name}()"


def function_calls(statement: ParsedStatement) -> Iterator[FunctionCall]:
    """Every function call in ``statement`` (``CALL`` included)."""
    for node in walk(statement.node):
        if isinstance(node, ast.FuncCall):
            yield FunctionCall(function_name(node.funcname), len(node.args or ()), statement.offset_of(node))


# CREATE TRIGGER's event bits (PostgreSQL's TRIGGER_TYPE_INSERT ...).
_INSERT, _DELETE, _UPDATE, _TRUNCATE = 1 << 2, 1 << 3, 1 << 4, 1 << 5


@dataclass(frozen=True)
class TriggerDefinition:
    name: str
    table: str
    events: int
    function: str
    position: tuple[str, int]


def trigger_definitions(file: SourceFile) -> Iterator[TriggerDefinition]:
    for statement in file.parsed.statements:
        node = statement.node
        if isinstance(node, ast.CreateTrigStmt) and node.relation is not None:
            table = f"{node.relation.schemaname or 'public'}.{node.relation.relname}".lower()
            yield TriggerDefinition(node.trigname or "?", table, node.events or 0, function_name(node.funcname),
                                    (file.name, statement.start))


def written_tables(statement: ParsedStatement) -> list[tuple[str, int]]:
    """(table, trigger event bits) of what ``statement`` writes: the triggers it fires."""
    node = statement.node
    events = {ast.InsertStmt: _INSERT, ast.UpdateStmt: _UPDATE, ast.DeleteStmt: _DELETE,
              ast.MergeStmt: _INSERT | _UPDATE | _DELETE}
    if isinstance(node, ast.TruncateStmt):
        relations = [r for r in node.relations or () if isinstance(r, ast.RangeVar)]
        return [(f"{r.schemaname or 'public'}.{r.relname}".lower(), _TRUNCATE) for r in relations]
    relation = getattr(node, "relation", None)
    if type(node) in events and isinstance(relation, ast.RangeVar):
        return [(f"{relation.schemaname or 'public'}.{relation.relname}".lower(), events[type(node)])]
    return []


class FunctionRegistry:
    """The definitions of the pending migrations, by name, in the order they run."""

    def __init__(self, files: list[SourceFile]) -> None:
        self.definitions: dict[str, list[FunctionDefinition]] = {}
        self.triggers: dict[str, list[TriggerDefinition]] = {}
        for file in sorted(files, key=lambda f: f.name):
            for definition in function_definitions(file):
                self.definitions.setdefault(definition.name, []).append(definition)
            for trigger in trigger_definitions(file):
                self.triggers.setdefault(trigger.table, []).append(trigger)

    def __bool__(self) -> bool:
        return bool(self.definitions)

    def calls(self, statement: ParsedStatement, before: tuple[str, int]) -> list[FunctionCall]:
        """The functions ``statement`` runs: those it calls, and those of the triggers created before
        ``before`` that it fires."""
        text = statement.text.lower()
        mentioned = any(name.rsplit(".", 1)[-1] in text for name in self.definitions)
        found = list(function_calls(statement)) if mentioned else []
        for table, event in written_tables(statement):
            for trigger in self.triggers.get(table, ()):
                if trigger.events & event and trigger.position < before:
                    how = f"fires trigger {trigger.name} on {table}, which runs {trigger.function}()"
                    found.append(FunctionCall(trigger.function, 0, statement.start, how))
        return found

    def defined_in(self, file: SourceFile) -> list[FunctionDefinition]:
        return [d for found in self.definitions.values() for d in found if d.file.name == file.name]

    def resolve(self, call: FunctionCall, before: tuple[str, int]) -> FunctionDefinition | None:
        """The definition a call at ``before`` (file name, offset) runs: the last one made before it."""
        candidates = [d for d in self.definitions.get(call.name, ()) if d.accepts(call.argument_count)
                      and d.position < before]
        return candidates[-1] if candidates else None
