"""The SQL text a PL/pgSQL ``EXECUTE`` runs, when it can be known without running anything.

An ``EXECUTE`` of a constant string, of constants joined with ``||``, or of ``format()`` /
``quote_ident()`` / ``quote_literal()`` whose arguments are all constants builds the same text every
time: :func:`executed_sql` returns it, so the lint rules check it like any other statement. Anything
that depends on a variable, a column or another function returns ``None``: dynamic SQL that cannot be
checked.
"""

from __future__ import annotations

import re

from pglast import ast, parse_sql
from pglast.parser import ParseError

_FORMAT_SPECIFIER = re.compile(r"%(?:(\d+)\$)?(-?)(\d*)([sIL%])")
_NULL = object()
"""A constant SQL NULL, as an argument of format()."""


def executed_sql(expression: str) -> str | None:
    """The text the PL/pgSQL expression ``expression`` evaluates to, or None when it is not constant."""
    try:
        statements = parse_sql(f"SELECT {expression}")
    except ParseError:
        return None
    if len(statements) != 1 or not isinstance(statements[0].stmt, ast.SelectStmt):
        return None
    select = statements[0].stmt
    targets = select.targetList or ()
    if len(targets) != 1 or select.fromClause or select.whereClause or not isinstance(targets[0], ast.ResTarget):
        return None
    value = _constant(targets[0].val)
    return value if isinstance(value, str) else None


def _constant(node: object) -> str | object | None:
    """The value of a constant text expression (``_NULL`` for NULL), None when it is not constant."""
    if isinstance(node, ast.A_Const):
        return _NULL if node.isnull else _literal(node.val)
    if isinstance(node, ast.TypeCast):
        return _constant(node.arg)
    if isinstance(node, ast.A_Expr) and _operator(node) == "||":
        left, right = _constant(node.lexpr), _constant(node.rexpr)
        if left is None or right is None:
            return None
        return _NULL if _NULL in (left, right) else f"{left}{right}"
    if isinstance(node, ast.FuncCall):
        return _call(node)
    return None


def _literal(value: ast.Node | None) -> str | None:
    if isinstance(value, ast.String):
        return value.sval or ""
    if isinstance(value, ast.Integer):
        return str(value.ival or 0)
    if isinstance(value, ast.Float):
        return value.fval or "0"
    if isinstance(value, ast.Boolean):
        return "true" if value.boolval else "false"
    return None


def _operator(expression: ast.A_Expr) -> str:
    names = [n.sval or "" for n in expression.name or () if isinstance(n, ast.String)]
    return names[-1] if names else ""


def _call(call: ast.FuncCall) -> str | object | None:
    names = [n.sval for n in call.funcname or () if isinstance(n, ast.String)]
    if call.func_variadic or call.agg_star or not names or names[:-1] not in ([], ["pg_catalog"]):
        return None
    arguments = [_constant(a) for a in call.args or ()]
    if any(a is None for a in arguments):
        return None
    name = (names[-1] or "").lower()
    if name == "format" and arguments and isinstance(arguments[0], str):
        return format_sql(arguments[0], arguments[1:])
    if name == "quote_ident" and len(arguments) == 1 and isinstance(arguments[0], str):
        return quote_ident(arguments[0])
    if name in ("quote_literal", "quote_nullable") and len(arguments) == 1:
        if arguments[0] is _NULL:
            return "NULL" if name == "quote_nullable" else _NULL
        return quote_literal(str(arguments[0]))
    return None


def format_sql(template: str, arguments: list[str | object | None]) -> str | None:
    """PostgreSQL's ``format()``: ``%s``, ``%I``, ``%L``, ``%%``, positions (``%1$I``), ``-`` and width.

    None where the server would raise (too few arguments, NULL for ``%I``, ``*`` widths, unknown types).
    """
    output: list[str] = []
    position, next_argument = 0, 0
    for specifier in _FORMAT_SPECIFIER.finditer(template):
        if "%" in template[position:specifier.start()]:
            return None  # a specifier this implementation does not read
        output.append(template[position:specifier.start()])
        position = specifier.end()
        explicit, left_align, width, kind = specifier.groups()
        if kind == "%":
            if explicit or left_align or width:
                return None
            output.append("%")
            continue
        index = int(explicit) - 1 if explicit else next_argument
        if index < 0 or index >= len(arguments):
            return None
        next_argument = index + 1
        text = _formatted(arguments[index], kind)
        if text is None:
            return None
        output.append(text.ljust(int(width)) if left_align and width else text.rjust(int(width or 0)))
    if "%" in template[position:]:
        return None
    output.append(template[position:])
    return "".join(output)


def _formatted(argument: str | object | None, kind: str) -> str | None:
    if argument is _NULL:
        return {"s": "", "L": "NULL"}.get(kind)  # %I of NULL is an error
    if not isinstance(argument, str):
        return None
    if kind == "I":
        return quote_ident(argument)
    if kind == "L":
        return quote_literal(argument)
    return argument


def quote_ident(name: str) -> str:
    """Always quoted: ``"acct"`` names the same object as ``acct`` for the parser, keywords included."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    quoted = "'" + value.replace("'", "''") + "'"
    return "E" + quoted.replace("\\", "\\\\") if "\\" in value else quoted
