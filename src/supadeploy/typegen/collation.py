"""The string order postgres-meta sorts every name with: ``new Intl.Collator("en").compare``.

ICU's English collation is the Unicode root collation (CLDR): three levels (base letter, accent, case),
punctuation and symbols before digits before letters, lower case before upper case on a tie. ``sort_key``
returns a tuple that orders like it. It is exact for ASCII names (checked character by character against
node's Intl.Collator in tests/test_types_collation.py) and for Latin letters with the common accents;
other scripts sort after Latin, by code point, which is close to but not always exactly ICU's order.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# ICU root order of the printable ASCII characters that are not letters or digits (each its own primary
# weight), read from Intl.Collator("en") for code points 0-127. Control characters other than these are
# completely ignorable.
_ASCII_NON_ALNUM_ORDER = "\t\n\x0b\x0c\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
_PUNCTUATION_PRIMARY = {char: index + 1 for index, char in enumerate(_ASCII_NON_ALNUM_ORDER)}
_OTHER_SYMBOLS = 100            # non-ASCII punctuation and symbols: after ASCII ones, before digits
_DIGITS = 0x20000
_LATIN = 0x20010
_OTHER_LETTERS = 0x30000

_SECONDARY_COMMON = 5
# Secondary (accent) weights of the common combining marks, in root collation order.
_ACCENT_ORDER = (
    "\u0301\u0300\u0306\u0302\u030c\u030a\u0308\u030b\u0303\u0307"
    "\u0328\u0327\u0304\u0323\u0331\u0335\u0338"
)
_ACCENT_WEIGHT = {mark: 10 + index for index, mark in enumerate(_ACCENT_ORDER)}
_TERTIARY_LOWER = 5
_TERTIARY_UPPER = 7

# Letters that are not a base letter plus combining marks: (expansion, secondary weight after its first letter).
_SPECIAL_LETTERS: dict[str, tuple[str, int]] = {
    "ß": ("ss", 0), "æ": ("ae", 60), "Æ": ("AE", 60), "œ": ("oe", 60), "Œ": ("OE", 60),
    "ø": ("o", 40), "Ø": ("O", 40), "đ": ("d", 40), "Đ": ("D", 40), "ł": ("l", 40), "Ł": ("L", 40),
    "ħ": ("h", 40), "Ħ": ("H", 40),
}

Element = tuple[int, int, int]


def sort_key(text: str) -> tuple[str, str, str]:
    """A key that orders strings like ``Intl.Collator("en").compare``: the primary, secondary and tertiary
    weights of each level as strings of code points (compared in C by Python)."""
    key = _keys.get(text)
    if key is None:
        if text.isascii():
            primary = text.translate(_ASCII_PRIMARY)
            key = (primary, _COMMON * len(primary), text.translate(_ASCII_TERTIARY))
        else:
            key = _unicode_key(text)
        if len(_keys) < 200_000:
            _keys[text] = key
    return key


_keys: dict[str, tuple[str, str, str]] = {}


@lru_cache(maxsize=65536)
def _unicode_key(text: str) -> tuple[str, str, str]:
    elements: list[Element] = []
    for char in unicodedata.normalize("NFD", text):
        elements.extend(_elements(char))
    return ("".join(chr(element[0]) for element in elements if element[0]),
            "".join(chr(element[1]) for element in elements if element[1]),
            "".join(chr(element[2]) for element in elements if element[2]))


def _ascii_primary(char: str) -> int:
    if "a" <= char <= "z":
        return _LATIN + 2 * (ord(char) - ord("a"))
    if "A" <= char <= "Z":
        return _LATIN + 2 * (ord(char) - ord("A"))
    if "0" <= char <= "9":
        return _DIGITS + ord(char) - ord("0")
    return _PUNCTUATION_PRIMARY.get(char, 0)


def _elements(char: str) -> list[Element]:
    if char.isascii():
        primary = _ascii_primary(char)
        if not primary:
            return []
        return [(primary, _SECONDARY_COMMON, _TERTIARY_UPPER if "A" <= char <= "Z" else _TERTIARY_LOWER)]
    if char in _SPECIAL_LETTERS:
        expansion, accent = _SPECIAL_LETTERS[char]
        elements = [element for base in expansion for element in _elements(base)]
        if accent:
            elements.insert(1, (0, accent, _TERTIARY_LOWER))
        # a tertiary difference from the plain expansion ("ss" < "ß")
        return [(p, s, t + 1) for p, s, t in elements]
    if char == "\u0131":  # dotless i: its own letter after i
        return [(_LATIN + 2 * 8 + 1, _SECONDARY_COMMON, _TERTIARY_LOWER)]
    category = unicodedata.category(char)
    if category == "Mn":
        return [(0, _ACCENT_WEIGHT.get(char, 100 + ord(char)), _TERTIARY_LOWER)]
    if category in ("Cc", "Cf"):
        return []
    if category == "Nd":
        return [(_DIGITS + unicodedata.digit(char, 0), _SECONDARY_COMMON, _TERTIARY_LOWER + 1)]
    if category.startswith(("L", "N")):
        lower = char.lower()
        tertiary = _TERTIARY_UPPER if lower != char else _TERTIARY_LOWER
        return [(_OTHER_LETTERS + ord(lower[0]), _SECONDARY_COMMON, tertiary)]
    return [(min(_OTHER_SYMBOLS + ord(char), _DIGITS - 1), _SECONDARY_COMMON, _TERTIARY_LOWER)]


_COMMON = chr(_SECONDARY_COMMON)
_ASCII_PRIMARY: dict[int, str | None] = {
    code: (chr(_ascii_primary(chr(code))) if _ascii_primary(chr(code)) else None) for code in range(128)}
_ASCII_TERTIARY: dict[int, str | None] = {
    code: (None if not _ascii_primary(chr(code)) else chr(_TERTIARY_UPPER) if 65 <= code <= 90
           else chr(_TERTIARY_LOWER)) for code in range(128)}
