"""pg_node_tree reading (typegen.node_tree, relationships.target_list_origins) on every rule of a real database:
the fast path (JSON through str.replace and json.loads, fields built when read) must read exactly what the
token-by-token parser reads, names with every character outToken escapes included."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from supadeploy.typegen.node_tree import Node, NodeTreeError, parse_node_tree, parse_node_tree_tokens
from supadeploy.typegen.relationships import target_list_origins

TRICKY = r'''
create table public."a b {c} (d)" ("x y" int not null, "back\slash" text, "quo""te" text, "[br]" int,
                                  "<>" int, "1lead" int, ":targetList " int, "tab	here" int, "new
line" int, "ünï" text);
create view public."v {1} (x)" as
  select t."x y", t."back\slash", t."quo""te" as "q""q", t."[br]", t."<>", t."1lead", t.":targetList ",
         t."tab	here", t."new
line", t."ünï", 'a b {c} (d) \ [e] "f"'::text as "const {}", -1.5 as "-1.5", array[1, 2] as arr,
         (select count(*) from public."a b {c} (d)" s where s."x y" = t."x y") as sub
  from public."a b {c} (d)" t left join lateral (select 1 as one) l on true;
create view public.with_cte as
  with w as (select "x y" from public."a b {c} (d)") select w."x y" from w union all select 1;
'''


def plain(value: Any) -> Any:
    """A tree as plain data, every field read (so lazily built fields are compared too)."""
    if isinstance(value, Node):
        return {"type": value.type, **{name: plain(field) for name, field in value.fields.items()}}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


@pytest.fixture
def rules(db_url: str) -> list[str]:
    with psycopg.connect(db_url, autocommit=True) as connection:
        connection.execute(TRICKY)
        return [row[0] for row in connection.execute("select ev_action::text from pg_rewrite order by oid")]


def test_the_fast_path_reads_what_the_token_parser_reads(rules: list[str]) -> None:
    assert len(rules) > 50  # the system views (pg_stats, information_schema, ...) and the tricky ones
    tricky = [rule for rule in rules if "a\\ b\\ \\{c\\}" in rule]
    assert tricky
    for rule in rules:
        assert plain(parse_node_tree(rule)) == plain(parse_node_tree_tokens(rule))


def test_target_list_origins_are_the_first_querys_own(rules: list[str]) -> None:
    for rule in rules:
        tree = parse_node_tree_tokens(rule)
        query = tree[0] if isinstance(tree, list) and tree else tree
        expected = [(int(entry.fields["resno"]), int(entry.fields["resorigtbl"]), int(entry.fields["resorigcol"]))
                    for entry in query.fields.get("targetList") or []]
        assert target_list_origins(rule) == expected


@pytest.mark.parametrize("text", ["", "(", "({QUERY :a 1)", "({QUERY :a 1}} )", "{}", "({QUERY :a 1}) x"])
def test_what_is_not_a_node_tree_is_an_error(text: str) -> None:
    with pytest.raises(NodeTreeError):
        parse_node_tree(text)


def test_target_entries_printed_in_another_order_are_read_from_the_parsed_tree() -> None:
    tree = ("({QUERY :commandType 1 :targetList ({TARGETENTRY :expr <> :resname x :resno 2 :ressortgroupref 0 "
            ":resorigcol 3 :resorigtbl 5 :resjunk false}) :jointree <>})")
    assert target_list_origins(tree) == [(2, 5, 3)]
