"""The pieces under the TypeScript generator, checked against the real things in node: the name order
(``Intl.Collator("en")``) and the line layout (oxfmt, the formatter postgres-meta runs)."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from supadeploy.typegen.collation import sort_key
from supadeploy.typegen.layout import print_doc, string_width
from supadeploy.typegen.tstypes import (
    Arr,
    Generic,
    Inter,
    Lit,
    Obj,
    Prop,
    Ref,
    TsType,
    Tuple_,
    Union_,
    object_doc,
    property_key,
    string_literal,
    union,
)

NODE_MODULES = Path(__file__).resolve().parent.parent / ".tools" / "node_modules"
OXFMT_BATCH = Path(__file__).resolve().parent / "support" / "oxfmt_batch.mjs"


def node(script: list[str], payload: object) -> object:
    if not (NODE_MODULES / "oxfmt").is_dir():
        pytest.fail("oxfmt (a dependency of @supabase/postgres-meta) is not installed: run `make tools`")
    completed = subprocess.run(["node", *script], input=json.dumps(payload), capture_output=True, text=True,
                               timeout=120, check=True)
    return json.loads(completed.stdout)


def test_names_sort_like_intl_collator_en() -> None:
    chooser = random.Random(7)
    alphabet = [chr(code) for code in range(32, 127)] + list("éèêëàâäçñöüßæøœłđÉÀÇÑ\t")
    words = ["".join(chooser.choice(alphabet) for _ in range(chooser.randint(0, 6))) for _ in range(2500)]
    words += ["".join(chooser.choice("aAbB_-1 $") for _ in range(chooser.randint(0, 5))) for _ in range(1500)]
    words += ["user", "User", "users", "user_id", "userId", "user-id", "_user", "a_b", "a-b", "ab", "AB", "Äpfel"]
    script = ("const c = new Intl.Collator('en'); const w = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "const i = w.map((_, n) => n); i.sort((a, b) => c.compare(w[a], w[b]) || a - b);"
              "process.stdout.write(JSON.stringify(i))")
    expected = node(["-e", script], words)
    assert sorted(range(len(words)), key=lambda index: (sort_key(words[index]), index)) == expected


def test_string_literals_and_keys_are_quoted_like_prettier() -> None:
    assert string_literal("plain") == '"plain"'
    assert string_literal("it's") == '"it\'s"'
    assert string_literal('say "hi"') == "'say \"hi\"'"
    assert string_literal("a'b\"c\"") == "'a\\'b\"c\"'"
    assert string_literal("back\\slash\n") == '"back\\\\slash\\n"'
    assert [property_key(name) for name in ("id", "$x", "_x", "ünï", "名前", "first name", "123", "1x", "a-b")] == [
        "id", "$x", "_x", "ünï", "名前", '"first name"', '"123"', '"1x"', '"a-b"']
    assert string_width("名前") == 4 and string_width("é") == 1


def _source(type_: TsType) -> str:
    """TypeScript source for a type, written like postgres-meta's template writes it."""
    if isinstance(type_, Ref):
        return type_.text
    if isinstance(type_, Generic):
        return f"{type_.name}<{', '.join(_source(arg) for arg in type_.args)}>"
    if isinstance(type_, Lit):
        return json.dumps(type_.value, ensure_ascii=False)
    if isinstance(type_, Arr):
        return f"({_source(type_.element)})[]"
    if isinstance(type_, Union_):
        return "|".join(_source(member) for member in type_.types)
    if isinstance(type_, Inter):
        return " & ".join(_source(member) for member in type_.types)
    if isinstance(type_, Tuple_):
        return "[" + ",".join(_source(element) for element in type_.elements) + "]"
    assert isinstance(type_, Obj)
    body = ",".join(f"{json.dumps(member.key, ensure_ascii=False)}{'?' if member.optional else ''}: "
                    f"{_source(member.type)}" for member in type_.members)
    return "{\n" + body + "\n}" if type_.expanded else "{ " + body + " }"


class _Trees:
    """Random types of the shapes the generator produces, with names of every width."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def name(self) -> str:
        length = self.random.choice([3, 8, 15, 25, 40, 60])
        return "".join(self.random.choice("abcdefgh_ -xyzé名") for _ in range(self.random.randint(1, length)))

    def tuple_member(self, depth: int) -> TsType:
        members: list[TsType] = [Lit(self.name()), Obj(tuple(Prop(self.name(), self.type(depth + 1))
                                                          for _ in range(self.random.randint(0, 3))), True)]
        return self.random.choice(members)

    def type(self, depth: int, in_union: bool = False) -> TsType:
        kind = self.random.random()
        if depth > 3 or kind < 0.35:
            leaves: list[TsType] = [
                Ref("string"), Ref("number"), Ref("Json"), Ref("unknown"), Ref("null"), Ref("true"), Lit(self.name()),
                Generic("Record", (Ref("string"), Ref("unknown"))), Generic("NonNullable", (Ref("Json"),)),
                Ref(f'Database["public"]["Enums"]["{self.name()}"]')]
            return self.random.choice(leaves)
        if kind < 0.5:
            return Arr(self.type(depth + 1, True))
        if kind < 0.65:
            return union(*(self.type(depth + 1, True) for _ in range(self.random.randint(2, 4))))
        if kind < 0.72:
            return union(self.type(depth + 1, True), Ref("null"))
        if kind < 0.78 and not in_union:
            return Inter((Obj((Prop("error", Ref("true")),)), Lit(self.name() * self.random.randint(1, 3))))
        if kind < 0.85:
            return Tuple_(tuple(self.tuple_member(depth) for _ in range(self.random.randint(0, 4))))
        return Obj(tuple(Prop(self.name(), self.type(depth + 1), self.random.random() < 0.3)
                         for _ in range(self.random.randint(0, 4))), self.random.random() < 0.5)

    def document(self) -> Obj:
        members = tuple(Prop(self.name(), self.type(0), self.random.random() < 0.3)
                        for _ in range(self.random.randint(1, 4)))
        return Obj((Prop("A", Obj((Prop("B", Obj(members, True)),), True)),), True)


def test_layout_matches_oxfmt_on_random_types() -> None:
    trees = _Trees(2024)
    documents = [trees.document() for _ in range(600)]
    sources = [f"type T = {_source(document)}\n" for document in documents]
    expected = node([str(OXFMT_BATCH), str(NODE_MODULES)], sources)
    assert isinstance(expected, list)
    printed = [f"type T = {print_doc(object_doc(document))}\n" for document in documents]
    mismatches = [(mine, theirs) for mine, theirs in zip(printed, expected, strict=True) if mine != theirs]
    assert not mismatches, f"{len(mismatches)} of {len(documents)} differ:\n{mismatches[0][0]}\n---\n{mismatches[0][1]}"
