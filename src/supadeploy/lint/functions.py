"""Functions and procedures defined by the pending migrations, and the calls that run them.

A call made by a pending migration (``SELECT public.wipe()``, ``PERFORM``, ``CALL``, a call inside any
expression) to a function the pending migrations define or replace before it runs that definition's
body: :mod:`supadeploy.lint.sources` checks the body as if it were written at the call. Functions are
matched by qualified name (``public`` when unqualified) and number of arguments.
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


def function_calls(statement: ParsedStatement) -> Iterator[FunctionCall]:
    """Every function call in ``statement`` (``CALL`` included)."""
    for node in walk(statement.node):
        if isinstance(node, ast.FuncCall):
            yield FunctionCall(function_name(node.funcname), len(node.args or ()), statement.offset_of(node))


class FunctionRegistry:
    """The definitions of the pending migrations, by name, in the order they run."""

    def __init__(self, files: list[SourceFile]) -> None:
        self.definitions: dict[str, list[FunctionDefinition]] = {}
        for file in sorted(files, key=lambda f: f.name):
            for definition in function_definitions(file):
                self.definitions.setdefault(definition.name, []).append(definition)

    def __bool__(self) -> bool:
        return bool(self.definitions)

    def defined_in(self, file: SourceFile) -> list[FunctionDefinition]:
        return [d for found in self.definitions.values() for d in found if d.file.name == file.name]

    def resolve(self, call: FunctionCall, before: tuple[str, int]) -> FunctionDefinition | None:
        """The definition a call at ``before`` (file name, offset) runs: the last one made before it."""
        candidates = [d for d in self.definitions.get(call.name, ()) if d.accepts(call.argument_count)
                      and d.position < before]
        return candidates[-1] if candidates else None
