"""Differential tests: ``split_statements`` returns exactly what the real Supabase CLI stores.

``supabase migration repair VERSION... --status applied`` reads the local migration files and
inserts (version, name, statements) history rows without running them, so one CLI call checks
hundreds of files.  Each file is read back from disk the way supadeploy must read it (bytes,
decoded as UTF-8, line endings untouched) before it is split.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from supadeploy.migrations.splitter import split_statements
from tests.support.databases import cli_url
from tests.support.inspect import history_rows
from tests.test_splitter import realistic_migration

pytestmark = pytest.mark.cli

ATOMIC_FUNCTION = "create function public.{name}(a int, b int) returns int language sql immutable\n"

# Hand-written files, each aimed at one construct (name -> SQL).
CORPUS: dict[str, str] = {
    "do_block": (
        "create table if not exists public.accounts (id bigint generated always as identity primary key);\n\n"
        "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM information_schema.columns\n"
        "                 WHERE table_name = 'accounts' AND column_name = 'owner') THEN\n"
        "    ALTER TABLE public.accounts ADD COLUMN owner uuid; -- added; once\n  END IF;\nEND $$;\n"
    ),
    "do_block_tagged": "do language plpgsql $do$ begin raise notice 'semi;colon %', ';'; end $do$;\nselect 1;\n",
    "function_tagged_body": (
        "create or replace function public.touch() returns trigger language plpgsql as $function$\n"
        "begin\n  new.updated_at := now(); -- keep; current\n  return new;\nend;\n$function$;\n\n"
        "create trigger touch before update on public.accounts for each row execute function public.touch();\n"
    ),
    "nested_dollar_tags": (
        "create function public.run(q text) returns void language plpgsql as $outer$\n"
        "begin\n  execute $inner$ select ';' $inner$;\n  execute $$select 1; select 2$$;\nend\n$outer$;\n"
    ),
    "dollar_tags_with_digits_and_unicode": (
        "select $tag_1$ a; b $tag_1$;\nselect $Ünï$ c; d $Ünï$;\nselect $1$ e; f $1$;\nselect $_$ g;h $_$;\n"
    ),
    "comments_with_semicolons": (
        "-- first; second; third\nselect 1; -- after; the statement\n/* block; comment; */ select 2;\n"
        "select 3 -- trailing; comment\n;\n"
    ),
    "nested_comments": "/* outer /* inner; */ still; outer */ select 1;\n/* a /* b /* c */ */ */ select 2;\n",
    "comment_edge_cases": "/*/ x */ select 1; /**/ select 2; /* a */* select 3; */ select 4;\n",
    "quoted_identifiers": (
        'create table public."we;ird""name" ("col;umn" int, "a""b" text);\n'
        'insert into public."we;ird""name" ("col;umn") values (1);\n'
    ),
    "strings_with_semicolons": (
        "insert into public.accounts (label) values ('a;b'), ('it''s; fine'), ('--not a comment;');\n"
        "select ';' as semi, '/* no comment */' as c;\n"
    ),
    "escape_strings": "select E'it\\'s; split here';\nselect e'back\\\\slash;';\nselect E'\\n;';\n",
    "empty_statements": ";;\n;\nselect 1;;;\n  ;  \nselect 2;\n;\n",
    "begin_atomic": (
        ATOMIC_FUNCTION.format(name="add")
        + "begin atomic\n  select a + b;\nend;\n\n"
        + "create function public.two() returns setof int language sql\n"
        + "BEGIN ATOMIC\n  select 1;\n  select 2;\nEND;\nselect 3;\n"
    ),
    "begin_atomic_case_quirk": (
        ATOMIC_FUNCTION.format(name="pick")
        + "begin atomic\n  select case when a > b then a else b end;\nend;\nselect 1;\n"
    ),
    "begin_atomic_words_containing_end": (
        ATOMIC_FUNCTION.format(name="w")
        + "begin atomic\n  select 'end;' from backend_table;\n  select 1;\nend;\nselect 2;\n"
    ),
    "begin_atomic_parens": (
        ATOMIC_FUNCTION.format(name="p")
        + "begin atomic\n  select (select a end_value);\n  select (1) + b;\nend;\nselect 2;\n"
    ),
    "begin_atomic_comment_quirk": (
        "create function public.c() returns int language sql --begin\natomic select 1; select 2; end; select 3;\n"
    ),
    "crlf": "create table public.crlf (\r\n  id int\r\n);\r\n\r\n-- comment\r\nselect 1;\r\nselect 2\r\n",
    "lone_cr": "select 1;\rselect 2;\r-- comment\rselect 3;\r",
    "bom": "\ufeff-- starts with a byte order mark\nselect 1;\nselect 2;\n",
    "unicode_identifiers": (
        'create table public."données" (clé text, "名前" text, ünïcödé int);\n'
        "insert into public.\"données\" values ('héllo; wörld', '日本語;テキスト', 1);\n"
        "comment on table public.\"données\" is 'Ελληνικά; русский; עברית';\n"
    ),
    "astral_characters": "select '\U0001f600;\U0001f680';\nselect \"\U0001f600\" from x;\nselect $\U00010000$;\n",
    "unicode_whitespace": "\xa0select 1\xa0;\u3000select 2\u2028;\tselect 3\x85;\u200bselect 4;\n",
    "trailing_comment_eof": "select 1;\n-- trailing; comment ;",
    "trailing_comment_newline": "select 1;\n-- trailing; comment ;\n",
    "trailing_block_comment": "select 1;\n/* done; */\n",
    "whitespace_only": "  \n\t\r\n   ",
    "empty": "",
    "comment_only": "-- nothing to do here; really\n",
    "parameters": (
        "create function public.inc(int) returns int as 'select $1 + 1;' language sql;\n"
        "prepare q (int, text) as select $1, $2;\nexecute q(1, 'x');\n"
    ),
    "dollar_in_identifiers": "create table public.t (a$b int, c$ int);\nselect a$b, c$ from public.t;\n",
    "double_dollar_in_identifier_quirk": "select a$$b from t; select 2;\nselect 3; $$;\nselect 4;\n",
    "rls_policies": (
        "alter table public.accounts enable row level security;\n"
        'create policy "owners; read" on public.accounts for select to authenticated\n'
        "  using ((select auth.uid()) = owner);\n"
        'create policy "owners write" on public.accounts for update\n'
        "  using ((select auth.uid()) = owner) with check (label <> ';');\n"
    ),
    "rule_with_parenthesised_actions": (
        "create table public.a (x int);\ncreate table public.b (x int);\n"
        "create rule r as on insert to public.a do also (insert into public.b values (1); "
        "insert into public.b values (2));\nselect 1;\n"
    ),
    "enum_and_view": (
        "create type public.mood as enum ('sad', 'ok;', 'happy');\n"
        "alter type public.mood add value 'ecstatic';\n"
        "create view public.v as with c as (select 1 as n) select n from c;\n"
    ),
    "jsonb_and_storage": (
        "insert into storage.buckets (id, name, public) values ('avatars', 'avatars', true);\n"
        "select '{\"a\": \"b;c\", \"d\": [1, 2]}'::jsonb -> 'a';\n"
    ),
    "cron_schedule": "select cron.schedule('nightly', '0 3 * * *', $$delete from public.logs; vacuum$$);\n",
    "transaction_wrapper": "begin;\nselect 1;\ncommit;\nbegin transaction;\nselect 2;\nend;\n",
    "psql_meta_commands": "\\set ON_ERROR_STOP on\nselect 1;\n\\echo done; really\nselect 2;\n",
    "backslash_quirks": "select 1 \\; select 2;\nselect (3 \\) ; select 4;\nselect \\'5; select 6;\n",
    "unterminated_string": "select 1;\nselect 'never closed; select 2;\n",
    "unterminated_comment": "select 1;\n/* never closed; select 2;\n",
    "unterminated_dollar": "select 1;\ndo $body$ begin perform 1; end;\n",
    "unterminated_paren": "select 1;\nselect (2; select 3;\n",
    "mixed_case_keywords": "CrEaTe TaBlE public.MiXeD (Id InT);\nDo $$ BeGiN PERFORM 1; eNd $$;\nSELECT 1;\n",
    "semicolon_free_file": "select 1",
    "many_statements": "".join(f"insert into public.t values ({i}, 'row;{i}');\n" for i in range(2000)),
    "long_statement": "insert into public.t values " + ",\n".join(f"({i}, 'x;{i}')" for i in range(20_000)) + ";\n",
    "realistic_migration": realistic_migration(7),
}

# Pieces for generated files: realistic statements (most without their ';') and raw tokens.
FRAGMENTS = [
    "select 1",
    "create table public.t (id int primary key, label text default 'x;y')",
    "insert into public.t values (1, 'it''s; ok')",
    "do $$ begin perform 1; end $$",
    "do $body$ begin raise notice '%', ';'; end $body$",
    "create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end",
    "create function g() returns int language plpgsql as $fn$ begin return 1; end; $fn$",
    "comment on table t is E'back\\'slash; here'",
    '"quoted;ident""x"',
    "-- comment; with semicolon\n",
    "/* block; /* nested */ comment */",
    "(a; b)",
    "$1",
    "a$b",
    "$$",
    "$x$",
    "'",
    '"',
    "\\",
    "/*",
    "*/",
    "--",
    "(",
    ")",
    "begin",
    "atomic",
    "end",
    "backend",
    "\ufeff",
    "é",
    "\U0001f600",
    "données",
]
SEPARATORS = [" ", "\n", "\r\n", ";", ";\n", "", "\t", " ;; ", "\n\n"]
DENSE_ALPHABET = [
    *"();'\"$-/*\\ \n\tx1_e",
    "begin", "atomic", "end", "$a$", "$$", "BEGIN ", " ATOMIC", "--", "/*", "*/", "\r\n", "é", "\U00010000",
    "\u0131", "\ufeff",
]


def random_files(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    files = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 25)):
            parts.append(rng.choice(FRAGMENTS))
            parts.append(rng.choice(SEPARATORS))
        files.append("".join(parts))
    return files


def dense_files(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(DENSE_ALPHABET) for _ in range(rng.randint(1, 60))) for _ in range(count)]


def repair(cli: str, project: Path, db_url: str, files: list[tuple[str, str, str]]) -> dict[str, tuple[str, list[str]]]:
    """Write (version, name, sql) files, let the CLI record them, return version -> (name, statements)."""
    migrations = project / "supabase" / "migrations"
    for version, name, sql in files:
        (migrations / f"{version}_{name}.sql").write_bytes(sql.encode("utf-8"))
    versions = [version for version, _, _ in files]
    done = subprocess.run(
        [cli, "migration", "repair", *versions, "--status", "applied", "--db-url", cli_url(db_url)],
        cwd=project, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {version: (name or "", statements or []) for version, name, statements in history_rows(db_url)}


def assert_split_like_the_cli(project: Path, files: list[tuple[str, str, str]],
                              stored: dict[str, tuple[str, list[str]]]) -> None:
    assert sorted(stored) == sorted(version for version, _, _ in files)
    problems = []
    for version, name, _ in files:
        stored_name, stored_statements = stored[version]
        assert stored_name == name
        sql = (project / "supabase" / "migrations" / f"{version}_{name}.sql").read_bytes().decode("utf-8")
        ours = split_statements(sql)
        for statement in ours:
            assert sql[statement.offset : statement.offset + len(statement.text)] == statement.text
        texts = [statement.text for statement in ours]
        if texts != stored_statements:
            first = next(
                (i for i, (a, b) in enumerate(zip(texts, stored_statements, strict=False)) if a != b),
                min(len(texts), len(stored_statements)),
            )
            problems.append(
                f"{version}_{name}: statement {first}: ours {texts[first : first + 1]!r} "
                f"cli {stored_statements[first : first + 1]!r} ({len(texts)} vs {len(stored_statements)})"
            )
    assert not problems, "\n".join(problems[:20])


def numbered(prefix: str, names_and_sql: Iterable[tuple[str, str]]) -> list[tuple[str, str, str]]:
    return [(f"{prefix}{i:04d}", name, sql) for i, (name, sql) in enumerate(names_and_sql)]


def test_corpus_and_generated_files(supabase_cli: str, project_dir: Path, db_url: str) -> None:
    assert len(CORPUS) >= 40
    files = (
        numbered("2024010100", CORPUS.items())
        + numbered("2024020100", ((f"random_{i:03d}", sql) for i, sql in enumerate(random_files(2117, 200))))
        + numbered("2024030100", ((f"dense_{i:03d}", sql) for i, sql in enumerate(dense_files(2117, 300))))
    )
    stored = repair(supabase_cli, project_dir, db_url, files)
    assert_split_like_the_cli(project_dir, files, stored)
    # a few anchors, so that a CLI change shows up here too and not only as a mismatch
    assert stored["20240101000012"] == ("begin_atomic", [
        ATOMIC_FUNCTION.format(name="add") + "begin atomic\n  select a + b;\nend",
        "create function public.two() returns setof int language sql\nBEGIN ATOMIC\n  select 1;\n  select 2;\nEND",
        "select 3",
    ])
    assert stored["20240101000013"][1] == [
        ATOMIC_FUNCTION.format(name="pick") + "begin atomic\n  select case when a > b then a else b end",
        "end",
        "select 1",
    ]
    assert stored["20240101000027"] == ("empty", [])


def tag_code_points() -> list[int]:
    """Every code point of planes 0-3 and 14 that a UTF-8 file and PostgreSQL text can hold."""
    return [c for c in [*range(0x40000), *range(0xE0000, 0xF0000)] if c and not 0xD800 <= c < 0xE000]


def chunks(lines: list[str], size: int) -> list[str]:
    return ["".join(lines[i : i + size]) for i in range(0, len(lines), size)]


def test_character_classes(supabase_cli: str, project_dir: Path, db_url: str) -> None:
    """Re-measure the CLI's character classes against split_statements, code point by code point:
    dollar-tag characters, trimmed whitespace, what blocks BEGIN and what may separate BEGIN ATOMIC.
    ASCII characters get a file each (a stray quote or parenthesis changes the rest of a file)."""
    non_ascii_tags = [c for c in tag_code_points() if c > 0x7F]
    bmp = [c for c in range(0x80, 0x10000) if not 0xD800 <= c < 0xE000]
    samples = [*bmp, 0x10000, 0x1D7CE, 0x20000, 0x1F600, 0xE0041]
    names_and_sql: list[tuple[str, str]] = []
    for i, text in enumerate(chunks([f"$a{chr(c)}$ ; $a{chr(c)}$;\n" for c in non_ascii_tags], 16384)):
        names_and_sql.append((f"tags_{i:02d}", text))
    for i, text in enumerate(chunks([f"{chr(c)}x{chr(c)};" for c in bmp], 8192)):
        names_and_sql.append((f"trim_{i:02d}", text))
    for i, text in enumerate(chunks([f"select {chr(c)}begin atomic; x; end;\n" for c in samples], 8192)):
        names_and_sql.append((f"before_begin_{i:02d}", text))
    for i, text in enumerate(chunks([f"select begin{chr(c)}atomic; x; end;\n" for c in samples], 8192)):
        names_and_sql.append((f"between_begin_atomic_{i:02d}", text))
    for c in range(1, 0x80):
        text = (
            f"$a{chr(c)}$ ; $a{chr(c)}$;\n{chr(c)}x{chr(c)};\nselect {chr(c)}begin atomic; x; end;\n"
            f"select begin{chr(c)}atomic; x; end;\nselect x\\{chr(c)}; y;\n"
        )
        names_and_sql.append((f"ascii_{c:02x}", text))
    files = numbered("2025010100", names_and_sql)
    stored = repair(supabase_cli, project_dir, db_url, files)
    assert_split_like_the_cli(project_dir, files, stored)
