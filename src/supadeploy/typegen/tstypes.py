"""TypeScript type expressions, printed the way Prettier/oxfmt print them.

Each node knows how to become a layout document (``supadeploy.typegen.layout``) following the printer
rules of Prettier for that construct: object type literals (kept expanded when the source had a line break
after ``{``), unions (``| A`` per line when broken, hugged when ``{ ... } | null``), intersections, arrays,
tuples, string literal quoting and property key quoting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Union

from supadeploy.typegen.layout import (
    LINE,
    SOFTLINE,
    Align,
    Doc,
    Group,
    IfBreak,
    Indent,
    join,
)


@dataclass(frozen=True)
class Ref:
    """Printed as is: a keyword, a type reference, an indexed access (already in Prettier's form)."""

    text: str


@dataclass(frozen=True)
class Generic:
    """A generic type reference: ``Record<string, unknown>``."""

    name: str
    args: tuple[TsType, ...]


@dataclass(frozen=True)
class Lit:
    """A string literal type."""

    value: str


@dataclass(frozen=True)
class Arr:
    element: TsType


@dataclass(frozen=True)
class Union_:
    types: tuple[TsType, ...]


@dataclass(frozen=True)
class Inter:
    types: tuple[TsType, ...]


@dataclass(frozen=True)
class Tuple_:
    elements: tuple[TsType, ...]


@dataclass(frozen=True)
class Prop:
    key: str
    type: TsType
    optional: bool = False


@dataclass(frozen=True)
class Obj:
    """An object type literal. ``expanded``: the source has a line break after ``{`` (Prettier keeps it)."""

    members: tuple[Prop, ...] = field(default_factory=tuple)
    expanded: bool = False


@dataclass(frozen=True)
class NeverMap:
    """``{ [_ in never]: never }``, always written expanded."""


TsType = Union[Ref, Generic, Lit, Arr, Union_, Inter, Tuple_, Obj, NeverMap]  # noqa: UP007 (a runtime alias)

NULL = Ref("null")
UNKNOWN = Ref("unknown")


def union(*types: TsType) -> TsType:
    """``A | B``, flattening nested unions like re-parsing concatenated source does."""
    flat: list[TsType] = []
    for item in types:
        flat.extend(item.types if isinstance(item, Union_) else (item,))
    return flat[0] if len(flat) == 1 else Union_(tuple(flat))


def with_array_suffix(type_: TsType) -> TsType:
    """Source text ``${type}[]``: ``[]`` binds to the last member of a union or intersection."""
    if isinstance(type_, Union_):
        return Union_((*type_.types[:-1], with_array_suffix(type_.types[-1])))
    if isinstance(type_, Inter):
        return Inter((*type_.types[:-1], with_array_suffix(type_.types[-1])))
    return Arr(type_)


# --- strings and keys -------------------------------------------------------------------------------------

_ESCAPE = re.compile(r"\\(.)|([\"'])", re.DOTALL)
_KEEP_ESCAPED = re.compile(r"[\n\r\"'0-7\\bfnrt-vx\u2028\u2029]")


def string_literal(value: str) -> str:
    """``JSON.stringify(value)`` as Prettier reprints it: double quotes unless single quotes need fewer escapes."""
    raw = json.dumps(value, ensure_ascii=False)[1:-1]
    doubles = raw.count('"')
    singles = raw.count("'")
    quote = "'" if doubles > singles else '"'
    other = '"' if quote == "'" else "'"

    def replace(match: re.Match[str]) -> str:
        escaped, bare = match.group(1), match.group(2)
        if escaped == other:
            return escaped
        if bare == quote:
            return "\\" + bare
        if bare:
            return bare
        return "\\" + escaped if _KEEP_ESCAPED.fullmatch(escaped) else escaped

    return quote + _ESCAPE.sub(replace, raw) + quote


def is_identifier_name(name: str) -> bool:
    """A JavaScript identifier name (unquoted as a property key)."""
    if not name:
        return False
    if name.isascii():
        return re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", name) is not None
    return name.replace("$", "_").replace("\u200c", "").replace("\u200d", "").isidentifier() and \
        name[0] not in "\u200c\u200d"


def property_key(name: str) -> str:
    return name if is_identifier_name(name) else string_literal(name)


# --- documents --------------------------------------------------------------------------------------------


def is_object(type_: TsType) -> bool:
    return isinstance(type_, Obj)


def to_doc(type_: TsType) -> Doc:
    if isinstance(type_, Ref):
        return type_.text
    if isinstance(type_, Lit):
        return string_literal(type_.value)
    if isinstance(type_, Generic):
        return _generic_doc(type_)
    if isinstance(type_, Arr):
        return _array_doc(type_)
    if isinstance(type_, Union_):
        return _union_doc(type_, in_parentheses=False)
    if isinstance(type_, Inter):
        return _intersection_doc(type_)
    if isinstance(type_, Tuple_):
        return _tuple_doc(type_)
    if isinstance(type_, Obj):
        return object_doc(type_)
    return Group(["{", Indent([LINE, "[_ in never]: never"]), LINE, "}"], broken=True)


def _generic_doc(type_: Generic) -> Doc:
    args = [to_doc(arg) for arg in type_.args]
    only = type_.args[0] if len(type_.args) == 1 else None
    if not type_.args or (only is not None and (_is_simple(only) or is_object(only)
                                                or (isinstance(only, Union_) and _should_hug(only)))):
        return [type_.name, "<", join(", ", args), ">"]
    return Group([type_.name, "<", Indent([SOFTLINE, join([",", LINE], args)]), SOFTLINE, ">"])


def _is_simple(type_: TsType) -> bool:
    """A keyword or a reference without type arguments."""
    return isinstance(type_, Ref) and _TYPE_REFERENCE.fullmatch(type_.text) is not None and "<" not in type_.text


def _array_doc(type_: Arr) -> Doc:
    element = type_.element
    if isinstance(element, Union_):
        return ["(", _union_doc(element, in_parentheses=True), ")", "[]"]
    if isinstance(element, Inter):
        return ["(", _intersection_doc(element), ")", "[]"]
    return [to_doc(element), "[]"]


_KEYWORDS = frozenset({"string", "number", "boolean", "unknown", "undefined", "null", "never", "any", "true",
                       "false", "object", "symbol", "bigint", "void"})
_TYPE_REFERENCE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def _is_type_reference(type_: TsType) -> bool:
    """``Json``, ``Record<string, unknown>``: a named type (not a keyword, not an indexed access)."""
    if isinstance(type_, Generic):
        return True
    return isinstance(type_, Ref) and type_.text not in _KEYWORDS and _TYPE_REFERENCE.fullmatch(type_.text) is not None


def _should_hug(type_: Union_) -> bool:
    """Prettier keeps ``T | null`` on one line when T is an object type or a type reference (``Json | null``)."""
    nulls = sum(1 for member in type_.types if member == NULL)
    return len(type_.types) - 1 == nulls and any(is_object(member) or _is_type_reference(member)
                                                 for member in type_.types)


def _union_doc(type_: Union_, *, in_parentheses: bool) -> Doc:
    printed = [to_doc(member) for member in type_.types]
    if _should_hug(type_):
        return join(" | ", printed)
    code: list[Doc] = [IfBreak([LINE, "| "]), join([LINE, "| "], [Align(2, doc) for doc in printed])]
    if in_parentheses:
        return Group([Indent(code), SOFTLINE])
    return Group(Indent(code))


def _intersection_doc(type_: Inter) -> Doc:
    result: list[Doc] = []
    was_indented = False
    for index, member in enumerate(type_.types):
        doc = to_doc(member)
        if index == 0:
            result.append(doc)
            continue
        previous = type_.types[index - 1]
        if not is_object(previous) and not is_object(member):
            result.append(Indent([" &", LINE, doc]))
        elif is_object(previous) and is_object(member):
            result.append([" & ", Indent(doc) if was_indented else doc])
        else:
            if index > 1:
                was_indented = True
            result.append([" & ", Indent(doc) if index > 1 else doc])
    return Group(result)


def _tuple_doc(type_: Tuple_) -> Doc:
    if not type_.elements:
        return "[]"
    items = join([",", LINE], [to_doc(element) for element in type_.elements])
    return Group(["[", Indent([SOFTLINE, items, IfBreak(",")]), SOFTLINE, "]"])


def prop_doc(prop: Prop) -> Doc:
    return [property_key(prop.key), "?: " if prop.optional else ": ", to_doc(prop.type)]


def object_doc(type_: Obj) -> Doc:
    if not type_.members:
        return "{}"
    parts: list[Doc] = []
    for index, member in enumerate(type_.members):
        if index:
            parts.append([IfBreak("", ";"), LINE])
        parts.append(Group(prop_doc(member)))
    return Group(["{", Indent([LINE, parts]), LINE, "}"], broken=type_.expanded)
