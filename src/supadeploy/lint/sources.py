"""Every statement a pending migration will run, for the lint rules and the protected gate.

For each top-level statement of a file, :meth:`StatementSources.file_sources` yields the statement
itself, the data-modifying members of its ``WITH`` (``WITH d AS (DELETE ...) SELECT ...``), what its
``DO`` body runs (see :mod:`supadeploy.lint.bodies`: embedded statements, SQL built by a constant
``EXECUTE``, and :class:`~supadeploy.lint.bodies.UncheckedSql` for dynamic SQL), and the body of every
function the pending migrations define that the statement calls (or fires as a trigger the pending
migrations created), as if it were written at the call, transitively. Each :class:`Source` knows where its
text is, so a finding names the file and line of the statement that runs it and of the body line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pglast import ast

from supadeploy.lint.bodies import BodyItem, UncheckedSql, body_items
from supadeploy.lint.functions import FunctionDefinition, FunctionRegistry, SourceFile
from supadeploy.lint.parse import ParsedStatement

_MODIFYING = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)
_DEEPEST_CALL_CHAIN = 8


@dataclass(frozen=True)
class Call:
    offset: int
    """File offset of the call, in the file of the statement that makes it."""
    function: FunctionDefinition
    how: str
    """``calls public.wipe()``, ``fires trigger t on public.acct, which runs public.audit()``."""


@dataclass(frozen=True)
class Source:
    """One statement that will run (or SQL that cannot be read), and how it is reached."""

    item: BodyItem
    file: SourceFile
    """The file whose text holds ``item``: the linted file, or the one defining the function called."""
    calls: tuple[Call, ...] = ()
    """The calls from the linted file's statement down to the function whose body holds ``item``."""

    def placed(self, offset: int, message: str) -> tuple[int, str]:
        """Where (an offset in the linted file) and how a finding at ``offset`` of ``item`` is reported."""
        built = isinstance(self.item, ParsedStatement) and self.item.pinned
        inner = f"the SQL built by EXECUTE: {message}" if built else message
        if self.calls:
            chain = ", which ".join(f"{c.how} (defined at {c.function.file.where(c.function.statement.start)})"
                                    for c in self.calls)
            return self.calls[0].offset, f"{chain}: {inner} ({self.file.where(offset)})"
        container = self.item.container
        if container is not None:
            return offset, f"{inner} (DO block at {self.file.where(container)})"
        return offset, inner


class StatementSources:
    """The statement sources of one lint run; function bodies are parsed once, when first needed."""

    def __init__(self, registry: FunctionRegistry) -> None:
        self.registry = registry
        self._bodies: dict[int, list[BodyItem]] = {}

    def file_sources(self, file: SourceFile) -> Iterator[Source]:
        for statement in file.parsed.statements:
            for item in self.running(statement):
                yield Source(item, file)
                if self.registry and isinstance(item, ParsedStatement):
                    yield from self._called(item, (), (file.name, statement.start))

    def running(self, statement: ParsedStatement) -> Iterator[BodyItem]:
        """``statement``, the data-modifying members of its WITH, and what its DO body runs."""
        yield statement
        for member in modifying_ctes(statement):
            yield from self.running(member)
        if isinstance(statement.node, ast.DoStmt):
            for item in self.body(statement):
                if isinstance(item, ParsedStatement):
                    yield from self.running(item)
                else:
                    yield item

    def body(self, statement: ParsedStatement) -> list[BodyItem]:
        key = id(statement)
        if key not in self._bodies:
            self._bodies[key] = body_items(statement)
        return self._bodies[key]

    def written_in(self, file: SourceFile) -> list[BodyItem]:
        """The statements (and dynamic SQL) whose text is in ``file``, DO and function bodies included: what
        an inline suppression comment can cover."""
        written: list[BodyItem] = []
        for statement in file.parsed.statements:
            written.append(statement)
            if isinstance(statement.node, ast.DoStmt):
                written.extend(self._located(self.body(statement)))
        for definition in self.registry.defined_in(file):
            written.extend(self._located(self.body(definition.statement)))
        return written

    @staticmethod
    def _located(items: list[BodyItem]) -> list[BodyItem]:
        return [item for item in items if item.text and (isinstance(item, UncheckedSql) or not item.pinned)]

    def _called(self, statement: ParsedStatement, calls: tuple[Call, ...], before: tuple[str, int]
                ) -> Iterator[Source]:
        if len(calls) >= _DEEPEST_CALL_CHAIN:
            return
        for call in self.registry.calls(statement, before):
            definition = self.registry.resolve(call, before)
            if definition is None or any(c.function is definition for c in calls):
                continue
            chain = (*calls, Call(call.offset, definition, call.described))
            for body_item in self.body(definition.statement):
                if isinstance(body_item, UncheckedSql):
                    yield Source(body_item, definition.file, chain)
                    continue
                for item in self.running(body_item):
                    yield Source(item, definition.file, chain)
                    if isinstance(item, ParsedStatement):
                        yield from self._called(item, chain, before)


def modifying_ctes(statement: ParsedStatement) -> Iterator[ParsedStatement]:
    """The INSERT / UPDATE / DELETE / MERGE members of the statement's WITH, located at their name."""
    with_clause = getattr(statement.node, "withClause", None)
    for cte in getattr(with_clause, "ctes", None) or ():
        if isinstance(cte, ast.CommonTableExpr) and isinstance(cte.ctequery, _MODIFYING):
            start = statement.offset_of(cte)
            text = statement.text if statement.pinned else statement.text[start - statement.start:]
            yield ParsedStatement(node=cte.ctequery, start=start, text=text, base=statement.base,
                                  guards=statement.guards, container=statement.container, pinned=statement.pinned)
