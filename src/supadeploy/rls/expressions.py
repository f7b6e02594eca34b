"""Reading policy expressions as Postgres prints them (``pg_get_expr``): what is always true, what runs per row.

The text comes from the server's deparser, so it is regular: boolean operators are fully parenthesised,
``(select auth.uid())`` prints as ``( SELECT auth.uid() AS uid)``, literals as ``'x'::text``. A small
tokenizer (strings, quoted identifiers, words, numbers, operators, parentheses) is enough to look at the
structure instead of matching the raw text, which is what splinter does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<word>[^\W\d][\w$]*)
  | (?P<cast>::)
  | (?P<punct>[(),\[\].;])
  | (?P<op>[-+*/<>=~!@\#%^&|`?]+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

AUTH_FUNCTIONS = ("uid", "jwt", "role", "email")
_AUTH_HINT = re.compile(r"auth\.|current_setting", re.IGNORECASE)
NULLABLE_AUTH_FUNCTIONS = ("uid", "jwt", "role")
_JSON_OPERATORS = {"->", "->>", "#>", "#>>"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else self.text

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words


@lru_cache(maxsize=65536)
def tokenize(expression: str) -> tuple[Token, ...]:
    tokens: list[Token] = []
    for match in _TOKEN.finditer(expression):
        kind = match.lastgroup or "other"
        if kind != "space":
            tokens.append(Token(kind, match.group()))
    return tuple(tokens)


def _matching_close(tokens: tuple[Token, ...] | list[Token], start: int) -> int:
    """Index of the ')' closing the '(' at ``start`` (len(tokens) when unbalanced)."""
    depth = 0
    for index in range(start, len(tokens)):
        text = tokens[index].text
        if tokens[index].kind == "punct":
            if text == "(":
                depth += 1
            elif text == ")":
                depth -= 1
                if depth == 0:
                    return index
    return len(tokens)


def strip_parentheses(tokens: tuple[Token, ...]) -> tuple[Token, ...]:
    while len(tokens) >= 2 and tokens[0].text == "(" and _matching_close(tokens, 0) == len(tokens) - 1:
        tokens = tokens[1:-1]
    return tokens


def split_top_level(tokens: tuple[Token, ...], keyword: str) -> list[tuple[Token, ...]]:
    """Split at ``keyword`` (AND / OR) outside parentheses."""
    parts: list[tuple[Token, ...]] = []
    depth = 0
    start = 0
    for index, token in enumerate(tokens):
        if token.kind == "punct" and token.text in "([":
            depth += 1
        elif token.kind == "punct" and token.text in ")]":
            depth -= 1
        elif depth == 0 and token.is_word(keyword):
            parts.append(tokens[start:index])
            start = index + 1
    parts.append(tokens[start:])
    return parts


def _is_constant(tokens: tuple[Token, ...]) -> bool:
    """A literal, possibly cast and parenthesised: no column, no function call, not NULL."""
    tokens = strip_parentheses(tokens)
    if not tokens:
        return False
    first = tokens[0]
    if not (first.kind in ("string", "number") or first.is_word("TRUE", "FALSE")):
        return False
    rest = tokens[1:]
    index = 0
    while index < len(rest):  # only casts may follow: ::type, ::character varying, ::text[]
        if rest[index].kind != "cast":
            return False
        index += 1
        while index < len(rest) and (rest[index].kind in ("word", "quoted") or rest[index].text in ("[", "]", ".")):
            index += 1
    return True


def split_comparison(tokens: tuple[Token, ...]) -> tuple[tuple[Token, ...], tuple[Token, ...]] | None:
    depth = 0
    for index, token in enumerate(tokens):
        if token.kind == "punct" and token.text in "([":
            depth += 1
        elif token.kind == "punct" and token.text in ")]":
            depth -= 1
        elif depth == 0 and token.kind == "op" and token.text == "=":
            return tokens[:index], tokens[index + 1:]
    return None


def _always_true(tokens: tuple[Token, ...]) -> bool:
    tokens = strip_parentheses(tokens)
    if not tokens:
        return False
    if len(tokens) == 1:
        return tokens[0].is_word("TRUE")
    disjuncts = split_top_level(tokens, "OR")
    if len(disjuncts) > 1:
        return any(_always_true(part) for part in disjuncts)
    conjuncts = split_top_level(tokens, "AND")
    if len(conjuncts) > 1:
        return all(_always_true(part) for part in conjuncts)
    if tokens[0].is_word("NOT"):
        return _always_false(tokens[1:])
    sides = split_comparison(tokens)
    if sides is not None:
        left, right = (strip_parentheses(side) for side in sides)
        return _is_constant(left) and [t.text for t in left] == [t.text for t in right]
    return False


def _always_false(tokens: tuple[Token, ...]) -> bool:
    tokens = strip_parentheses(tokens)
    return len(tokens) == 1 and tokens[0].is_word("FALSE")


_CONSTANT_HINT = re.compile(r"\b(?:true|false)\b|'|\d", re.IGNORECASE)


@lru_cache(maxsize=65536)
def is_always_true(expression: str | None) -> bool:
    """True for ``true``, ``(1 = 1)``, ``('a'::text = 'a'::text)``, ``(x OR true)``, ``NOT false``...

    ``None`` (no expression) is not "always true": Postgres grants nothing through a missing USING or
    INSERT WITH CHECK clause.
    """
    if expression is None or not _CONSTANT_HINT.search(expression):  # no literal at all: cannot be constant
        return False
    return _always_true(tokenize(expression))


def _auth_call_at(tokens: tuple[Token, ...], index: int) -> tuple[str, int] | None:
    """(name, index after the call) when an auth.<fn>() or current_setting(...) call starts at ``index``."""
    token = tokens[index]
    if (token.is_word("AUTH") and index + 4 < len(tokens) and tokens[index + 1].text == "."
            and tokens[index + 2].kind == "word" and tokens[index + 2].text.lower() in AUTH_FUNCTIONS
            and tokens[index + 3].text == "(" and tokens[index + 4].text == ")"):
        return f"auth.{tokens[index + 2].text.lower()}()", index + 5
    if token.is_word("CURRENT_SETTING") and index + 1 < len(tokens) and tokens[index + 1].text == "(":
        if index > 0 and tokens[index - 1].text == "." and not (index > 1 and tokens[index - 2].is_word("PG_CATALOG")):
            return None
        close = _matching_close(tokens, index + 1)
        return "current_setting()", close + 1
    return None


def _subquery_contexts(tokens: tuple[Token, ...]) -> dict[int, bool]:
    """For each '(' that opens a sub-SELECT: whether it runs once per statement (no FROM of its own).

    A scalar ``( SELECT auth.uid() AS uid)`` has no FROM: Postgres runs it once, as an InitPlan. A
    ``( SELECT 1 FROM members WHERE user_id = auth.uid())`` is evaluated again for every row.
    """
    contexts: dict[int, bool] = {}
    stack: list[int] = []
    for index, token in enumerate(tokens):
        if token.kind == "punct" and token.text == "(":
            stack.append(index)
            if index + 1 < len(tokens) and tokens[index + 1].is_word("SELECT"):
                contexts[index] = True
        elif token.kind == "punct" and token.text == ")":
            if stack:
                stack.pop()
        elif token.is_word("FROM") and stack and stack[-1] in contexts:
            contexts[stack[-1]] = False
    return contexts


def per_row_calls(expression: str | None) -> list[str]:
    return list(_per_row_calls(expression))


@lru_cache(maxsize=65536)
def _per_row_calls(expression: str | None) -> tuple[str, ...]:
    """auth.uid() / auth.jwt() / auth.role() / auth.email() / current_setting() calls evaluated for each row.

    A call is evaluated once per statement when it sits in a sub-SELECT without FROM, e.g.
    ``(select auth.uid())``; anywhere else (including inside a correlated ``EXISTS (SELECT ... FROM ...)``)
    Postgres may call it for every row.
    """
    if expression is None or not _AUTH_HINT.search(expression):
        return ()
    tokens = tokenize(expression)
    once = _subquery_contexts(tokens)
    calls: list[str] = []
    stack: list[int] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind == "punct" and token.text == "(":
            stack.append(index)
        elif token.kind == "punct" and token.text == ")":
            if stack:
                stack.pop()
        else:
            call = _auth_call_at(tokens, index)
            if call is not None:
                name, end = call
                if not any(once.get(opened, False) for opened in stack) and name not in calls:
                    calls.append(name)
                if name != "current_setting()":
                    index = end
                    continue
        index += 1
    return tuple(calls)


def _nullable_auth_operand(tokens: tuple[Token, ...]) -> bool:
    """``auth.uid()``, ``( SELECT auth.uid() AS uid)``, ``(auth.jwt() ->> 'sub'::text)``, ``current_setting(x, true)``
    (what is NULL in an anonymous request)."""
    tokens = strip_parentheses(tokens)
    if tokens and tokens[0].is_word("SELECT"):
        tokens = tokens[1:]
        if len(tokens) >= 2 and tokens[-2].is_word("AS"):
            tokens = tokens[:-2]
        tokens = strip_parentheses(tokens)
    if not tokens:
        return False
    call = _auth_call_at(tokens, 0)
    if call is None:
        return False
    name, end = call
    if name == "current_setting()":
        arguments = tokens[2:end - 1]
        if not (arguments and arguments[-1].is_word("TRUE") and len(arguments) >= 3 and arguments[-2].text == ","):
            return False
    elif name.removeprefix("auth.").removesuffix("()") not in NULLABLE_AUTH_FUNCTIONS:
        return False
    rest = tokens[end:]
    return all(t.kind in ("string", "word", "cast") or t.text in _JSON_OPERATORS or t.text in ("[", "]")
               for t in rest) and not any(t.is_word("AND", "OR", "NOT", "IS") for t in rest)


def _is_null_check(tokens: tuple[Token, ...]) -> bool:
    tokens = strip_parentheses(tokens)
    if len(tokens) > 2 and tokens[-2].is_word("IS") and tokens[-1].is_word("NULL"):
        return _nullable_auth_operand(tokens[:-2])
    if len(tokens) > 1 and tokens[0].is_word("NOT"):
        inner = strip_parentheses(tokens[1:])
        if len(inner) > 3 and inner[-3].is_word("IS") and inner[-2].is_word("NOT") and inner[-1].is_word("NULL"):
            return _nullable_auth_operand(inner[:-3])
    return False


@lru_cache(maxsize=65536)
def null_auth_disjuncts(expression: str | None) -> bool:
    """The expression is ``<auth call> IS NULL OR ...`` at the top level: true for every anonymous session."""
    if expression is None or not _AUTH_HINT.search(expression) or " OR " not in expression.upper():
        return False
    disjuncts = split_top_level(strip_parentheses(tokenize(expression)), "OR")
    return len(disjuncts) > 1 and any(_is_null_check(part) for part in disjuncts)


_USER_METADATA_KEY = re.compile(r"'\{?\s*user_metadata\b")
_JWT_SOURCE = re.compile(r"\bauth\.jwt\(\)|request\.jwt\.claim", re.IGNORECASE)


def trusts_user_metadata(expression: str | None) -> bool:
    """Reads the JWT's ``user_metadata`` (or auth.users.raw_user_meta_data), which every user can edit."""
    if expression is None:
        return False
    if "raw_user_meta_data" in expression:
        return True
    return bool(_USER_METADATA_KEY.search(expression)) and bool(_JWT_SOURCE.search(expression))


def _is_not_null_check(tokens: tuple[Token, ...]) -> bool:
    """``<auth call> IS NOT NULL`` or ``NOT (<auth call> IS NULL)``: true for every signed-in request."""
    tokens = strip_parentheses(tokens)
    if len(tokens) > 3 and tokens[-3].is_word("IS") and tokens[-2].is_word("NOT") and tokens[-1].is_word("NULL"):
        return _nullable_auth_operand(tokens[:-3])
    if len(tokens) > 1 and tokens[0].is_word("NOT"):
        inner = strip_parentheses(tokens[1:])
        return len(inner) > 2 and inner[-2].is_word("IS") and inner[-1].is_word("NULL") \
            and _nullable_auth_operand(inner[:-2])
    return False


def _is_authenticated_role_check(tokens: tuple[Token, ...]) -> bool:
    """``auth.role() = 'authenticated'::text`` (either side, the call wrapped in a sub-select or not)."""
    sides = split_comparison(strip_parentheses(tokens))
    if sides is None:
        return False
    for call, value in (sides, sides[::-1]):
        value = strip_parentheses(value)
        if value and value[0].text == "'authenticated'" and all(t.kind in ("cast", "word") for t in value[1:]):
            operand = strip_parentheses(call)
            if operand and operand[0].is_word("SELECT"):
                operand = strip_parentheses(operand[1:-2] if len(operand) > 2 and operand[-2].is_word("AS")
                                            else operand[1:])
            found = _auth_call_at(operand, 0) if operand else None
            if found is not None and found == ("auth.role()", len(operand)):
                return True
    return False


def _signed_in_true(tokens: tuple[Token, ...]) -> bool:
    tokens = strip_parentheses(tokens)
    if not tokens:
        return False
    disjuncts = split_top_level(tokens, "OR")
    if len(disjuncts) > 1:
        return any(_signed_in_true(part) for part in disjuncts)
    conjuncts = split_top_level(tokens, "AND")
    if len(conjuncts) > 1:
        return all(_signed_in_true(part) for part in conjuncts)
    return _always_true(tokens) or _is_not_null_check(tokens) or _is_authenticated_role_check(tokens)


@lru_cache(maxsize=65536)
def true_for_every_signed_in_user(expression: str | None) -> bool:
    """True for ``auth.uid() IS NOT NULL``, ``(( SELECT auth.uid() AS uid) IS NOT NULL)``,
    ``(auth.role() = 'authenticated'::text)``, ``auth.jwt() IS NOT NULL AND true``...: no condition on the row, so
    every signed-in user gets every row."""
    if expression is None or not _AUTH_HINT.search(expression):
        return False
    return _signed_in_true(tokenize(expression))
