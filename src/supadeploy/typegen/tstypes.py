"""TypeScript type expressions, printed the way Prettier/oxfmt print them.

Each node knows how to become a layout document (``supadeploy.typegen.layout``) following the printer
rules of Prettier for that construct: object type literals (kept expanded when the source had a line break
after ``{``), unions (``| A`` per line when broken, hugged when ``{ ... } | null``), intersections, arrays,
tuples, string literal quoting and property key quoting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, ClassVar, Union

from supadeploy.typegen.layout import (
    LINE,
    SOFTLINE,
    Align,
    Doc,
    Group,
    IfBreak,
    Indent,
    join,
    print_doc,
    string_width,
)


class _Node:
    """A value object: compared and hashed by its fields; its one-line text is computed once, on demand."""

    __slots__ = ("_flat",)
    _fields: ClassVar[tuple[str, ...]] = ()
    _flat: object  # str, None (always breaks) or _UNSET (not computed yet)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._values() == other._values()  # type: ignore[attr-defined,unused-ignore]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(value) for value in self._values())})"


class Ref(_Node):
    """Printed as is: a keyword, a type reference, an indexed access (already in Prettier's form)."""

    __slots__ = ("text",)
    _fields = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text
        self._flat = text


class Generic(_Node):
    """A generic type reference: ``Record<string, unknown>``."""

    __slots__ = ("args", "name")
    _fields = ("name", "args")

    def __init__(self, name: str, args: tuple[TsType, ...]) -> None:
        self.name = name
        self.args = args
        self._flat = _UNSET


class Lit(_Node):
    """A string literal type."""

    __slots__ = ("value",)
    _fields = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value
        self._flat = _UNSET


class Arr(_Node):
    __slots__ = ("element",)
    _fields = ("element",)

    def __init__(self, element: TsType) -> None:
        self.element = element
        self._flat = _UNSET


class Union_(_Node):
    __slots__ = ("types",)
    _fields = ("types",)

    def __init__(self, types: tuple[TsType, ...]) -> None:
        self.types = types
        self._flat = _UNSET


class Inter(_Node):
    __slots__ = ("types",)
    _fields = ("types",)

    def __init__(self, types: tuple[TsType, ...]) -> None:
        self.types = types
        self._flat = _UNSET


class Tuple_(_Node):
    __slots__ = ("elements",)
    _fields = ("elements",)

    def __init__(self, elements: tuple[TsType, ...]) -> None:
        self.elements = elements
        self._flat = _UNSET


class Prop(_Node):
    __slots__ = ("key", "optional", "type")
    _fields = ("key", "type", "optional")

    def __init__(self, key: str, type: TsType, optional: bool = False) -> None:
        self.key = key
        self.type = type
        self.optional = optional
        self._flat = _UNSET


class Obj(_Node):
    """An object type literal. ``expanded``: the source has a line break after ``{`` (Prettier keeps it)."""

    __slots__ = ("expanded", "members")
    _fields = ("members", "expanded")

    def __init__(self, members: tuple[Prop, ...] = (), expanded: bool = False) -> None:
        self.members = members
        self.expanded = expanded
        self._flat = None if expanded else _UNSET


class NeverMap(_Node):
    """``{ [_ in never]: never }``, always written expanded."""

    __slots__ = ()

    def __init__(self) -> None:
        self._flat = None


_UNSET = object()

class Written(_Node):
    """An expanded object whose lines the generator writes itself (``write(out, indentation)`` appends it
    from its ``{``), for the bulk of a file where building one node per line would cost more than it says."""

    __slots__ = ("write",)
    _fields = ("write",)

    def __init__(self, write: Callable[[list[str], int], None]) -> None:
        self.write = write
        self._flat = None


TsType = Union[Ref, Generic, Lit, Arr, Union_, Inter, Tuple_, Obj, NeverMap, Written]  # noqa: UP007 (runtime alias)

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


@lru_cache(maxsize=65536)
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


@lru_cache(maxsize=65536)
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
    if isinstance(type_, Written):
        raise TypeError("a Written object prints only as a member of an expanded object (emit_member)")
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


# --- fast path ----------------------------------------------------------------------------------------------
# Most of a generated file is members of expanded objects that fit on their line. Such a member prints as its
# one-line text when it fits (nothing after it on the line counts: a line break follows), so it needs no
# layout; only the members that do not fit, and the few types that always break, go through the printer.

def flat_text(type_: TsType) -> str | None:
    """The type on one line (its flat layout), or None when it always breaks (holds an expanded object)."""
    text = type_._flat
    if text is _UNSET:
        text = type_._flat = _flat(type_)
    return text  # type: ignore[return-value]


def _flat(type_: TsType) -> str | None:
    if isinstance(type_, Lit):
        return string_literal(type_.value)
    if isinstance(type_, NeverMap):
        return None
    if isinstance(type_, Obj):
        if not type_.members:
            return "{}"
        members = [_flat_member(member) for member in type_.members]
        return None if None in members else "{ " + "; ".join(members) + " }"  # type: ignore[arg-type]
    parts = [flat_text(member) for member in _children(type_)]
    if None in parts:
        return None
    texts: list[str] = parts  # type: ignore[assignment]
    if isinstance(type_, Generic):
        return f"{type_.name}<{', '.join(texts)}>"
    if isinstance(type_, Arr):
        return f"({texts[0]})[]" if isinstance(type_.element, (Union_, Inter)) else f"{texts[0]}[]"
    if isinstance(type_, Union_):
        return " | ".join(texts)
    if isinstance(type_, Inter):
        return " & ".join(texts)
    return "[" + ", ".join(texts) + "]"


def _children(type_: TsType) -> tuple[TsType, ...]:
    if isinstance(type_, Generic):
        return type_.args
    if isinstance(type_, Arr):
        return (type_.element,)
    if isinstance(type_, (Union_, Inter)):
        return type_.types
    if isinstance(type_, Tuple_):
        return type_.elements
    return ()


def _flat_member(member: Prop) -> str | None:
    text = flat_text(member.type)
    return None if text is None else property_key(member.key) + ("?: " if member.optional else ": ") + text


def breaks(type_: TsType) -> bool:
    """Whether the type always prints over several lines."""
    return flat_text(type_) is None


def emit_object(out: list[str], type_: Obj, indentation: int) -> None:
    """Append an object that prints expanded, its ``{`` at the current position of a line indented
    ``indentation``."""
    if not type_.members:
        out.append("{}")
        return
    out.append("{")
    inner = indentation + 2
    newline = "\n" + " " * inner
    for member in type_.members:
        out.append(newline)
        emit_member(out, member, inner)
    out.append("\n" + " " * indentation + "}")


def emit_member(out: list[str], member: Prop, indentation: int) -> None:
    """Append one member of an expanded object, at the start of a line indented ``indentation``."""
    head = property_key(member.key) + ("?: " if member.optional else ": ")
    type_ = member.type
    text = flat_text(type_)
    if text is not None:
        line = head + text
        if indentation + (len(line) if line.isascii() else string_width(line)) <= 80:
            out.append(line)
            return
    elif isinstance(type_, Obj):
        out.append(head)
        emit_object(out, type_, indentation)
        return
    elif isinstance(type_, Written):
        out.append(head)
        type_.write(out, indentation)
        return
    elif isinstance(type_, Tuple_) and all(isinstance(element, Obj) and breaks(element) for element in type_.elements):
        out.append(head + "[")
        newline = "\n" + " " * (indentation + 2)
        for element in type_.elements:
            out.append(newline)
            emit_object(out, element, indentation + 2)  # type: ignore[arg-type]
            out.append(",")
        out.append("\n" + " " * indentation + "]")
        return
    out.append(print_doc(Group(prop_doc(member)), indentation=indentation))
