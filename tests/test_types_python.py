"""`supadeploy types --lang python`: Pydantic v2 models that import, pass `mypy --strict`, and are faithful
to the database: real rows validate (as psycopg returns them and as PostgREST returns them), writes missing
a required column or setting a generated one are refused."""

from __future__ import annotations

import datetime
import importlib.util
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types import TypeInfo
from psycopg.types.json import Jsonb
from pydantic import ValidationError

from supadeploy.targets.postgres import PostgresTarget
from supadeploy.typegen.introspect import introspect
from supadeploy.typegen.python import generate_python
from tests.support import postgres_meta

CORPUS = postgres_meta.CORPUS


def _generate(url: str, schemas: tuple[str, ...]) -> str:
    target = PostgresTarget(url)
    try:
        return generate_python(introspect(target, schemas), schemas)
    finally:
        target.close()


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def corpus_db(make_db: Callable[[], str]) -> Callable[[str], str]:
    def load(name: str) -> str:
        url = make_db()
        postgres_meta.load_sql(url, (CORPUS / f"{name}.sql").read_text(encoding="utf-8"))
        return url
    return load


@pytest.fixture
def columns_models(corpus_db: Callable[[str], str], tmp_path: Path) -> Iterator[tuple[str, ModuleType]]:
    url = corpus_db("01_columns")
    path = tmp_path / "columns_models.py"
    path.write_text(_generate(url, ("public",)), encoding="utf-8")
    yield url, _import(path)
    sys.modules.pop("columns_models", None)


def test_models_import_cleanly_and_pass_mypy_strict(corpus_db: Callable[[str], str], tmp_path: Path) -> None:
    files = []
    for path in postgres_meta.corpus_files():
        url = corpus_db(path.stem)
        module = tmp_path / f"models_{path.stem}.py"
        module.write_text(_generate(url, postgres_meta.corpus_schemas(path)), encoding="utf-8")
        files.append(module)
    for module in files:  # importable, without a single warning (field names shadowing BaseModel, ...)
        subprocess.run([sys.executable, "-W", "error", "-c", f"import {module.stem}"], cwd=tmp_path, check=True,
                       capture_output=True)
    checked = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", *map(str, files)],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _insert_everything(url: str, *, with_composites: bool) -> None:
    composites = ("row('Main St', 'Paris', 75001, '{a,b}', 'happy', '{\"k\": 1}'), "
                  "array[row('Side St', 'Lyon', 69001, '{}', 'sad', null)::public.address]") if with_composites \
        else "null, null"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"""
            insert into public.everything (t, t_nn, vc, ch, i2, i4, num, f4, f8, money_col, d, tm, tmtz, ts, iv, j,
              by, ip, cidr_col, bits, x, r4, tsv, a_text, a_int8, a_uuid, a_jsonb, a_date, a_2d, m, m_arr, m_arr_nn,
              addr, addr_arr, pos, mail, mail_null_col, ints, mail2)
            values ('a', 'b', 'vc', 'ab', 2, 4, 1.5, 1.25, 2.5, 12.5, '2024-01-02', '12:34:56', '12:00+02',
              '2024-01-02 03:04:05', '1 day 2 hours', '{{"a": [1, null]}}', '\\x0102', '1.2.3.4', '10.0.0.0/8',
              B'101', '<a/>', '[1,5)', 'a b', '{{x,y}}', '{{1}}', '{{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}}',
              array['[1]'::jsonb], '{{2024-01-01}}', '{{{{1,2}},{{3,4}}}}', 'happy', '{{sad}}', '{{ok}}',
              {composites}, 3, 'x@y', 'z@y', '{{1,2}}', 'q@r')""")


def test_rows_fetched_with_psycopg_validate(columns_models: tuple[str, ModuleType]) -> None:
    url, models = columns_models
    _insert_everything(url, with_composites=False)
    with psycopg.connect(url, row_factory=dict_row) as connection:
        mood = TypeInfo.fetch(connection, "public.mood")
        assert mood is not None
        mood.register(connection)  # so mood[] arrives as a list
        rows = connection.execute("select * from public.everything").fetchall()
    assert len(rows) == 1
    row = models.PublicEverything.model_validate(rows[0])
    assert row.id == 1 and row.t_nn == "b" and row.i4 == 4 and row.num == Decimal("1.5")
    assert row.d == datetime.date(2024, 1, 2) and row.iv == datetime.timedelta(days=1, hours=2)
    assert isinstance(row.u, uuid.UUID) and row.j == {"a": [1, None]} and row.jb == {}
    assert row.a_2d == [[1, 2], [3, 4]] and row.m == "happy" and row.m_arr == ["sad"] and row.by == b"\x01\x02"
    assert row.gen_text == "a!" and row.gen_int == 8 and row.addr is None and row.t_def == "x"


def test_rows_as_postgrest_returns_them_validate(columns_models: tuple[str, ModuleType]) -> None:
    url, models = columns_models
    _insert_everything(url, with_composites=True)
    with psycopg.connect(url) as connection:
        documents = [document for (document,) in connection.execute(
            "select to_jsonb(e) from public.everything e").fetchall()]
    row = models.PublicEverything.model_validate(documents[0])
    assert row.addr is not None and row.addr.street == "Main St" and row.addr.mood == "happy"
    assert row.addr_arr is not None and row.addr_arr[0].city == "Lyon"
    assert row.tstz.tzinfo is not None and row.iv == "1 day 02:00:00"


def test_an_enum_value_outside_the_enum_is_refused(columns_models: tuple[str, ModuleType]) -> None:
    _url, models = columns_models
    with pytest.raises(ValidationError, match="m_nn"):
        models.PublicEverythingInsert.model_validate({"t_nn": "x", "i4": 1, "m_arr_nn": [], "mail": "a",
                                                     "mail_null_col": "b", "m_nn": "furious"})


def test_an_insert_missing_a_required_column_is_refused(columns_models: tuple[str, ModuleType]) -> None:
    _url, models = columns_models
    required = {"t_nn": "x", "i4": 1, "m_arr_nn": ["ok"], "mail": "a@b", "mail_null_col": "c@d", "mail2": "e@f"}
    models.PublicEverythingInsert.model_validate(required)
    for column in ("t_nn", "i4", "m_arr_nn", "mail", "mail2"):  # mail2: a domain over a NOT NULL domain
        payload = {key: value for key, value in required.items() if key != column}
        with pytest.raises(ValidationError) as refused:
            models.PublicEverythingInsert.model_validate(payload)
        assert refused.value.errors()[0]["loc"] == (column,)
        assert refused.value.errors()[0]["type"] == "missing"


def test_writes_refuse_generated_columns_and_null_in_not_null_ones(columns_models: tuple[str, ModuleType]) -> None:
    _url, models = columns_models
    base = {"t_nn": "x", "i4": 1, "m_arr_nn": [], "mail": "a", "mail_null_col": "b", "mail2": "c"}
    for never in ("id", "gen_text", "gen_int"):  # identity ALWAYS and generated columns
        with pytest.raises(ValidationError, match=never):
            models.PublicEverythingInsert.model_validate({**base, never: 1})
        with pytest.raises(ValidationError, match=never):
            models.PublicEverythingUpdate.model_validate({never: 1})
    with pytest.raises(ValidationError, match="t_def"):  # has a default, so optional; but not nullable
        models.PublicEverythingInsert.model_validate({**base, "t_def": None})
    update = models.PublicEverythingUpdate.model_validate({"t": None, "i4": 7})
    assert update.model_dump(mode="json", by_alias=True, exclude_unset=True) == {"t": None, "i4": 7}


def test_what_the_models_accept_the_database_accepts(columns_models: tuple[str, ModuleType]) -> None:
    url, models = columns_models
    insert = models.PublicEverythingInsert.model_validate(
        {"t_nn": "x", "i4": 1, "m_arr_nn": ["ok"], "mail": "a@b", "mail_null_col": "c@d", "mail2": "e@f",
         "a_2d": [[1]]})
    payload: dict[str, Any] = insert.model_dump(mode="json", by_alias=True, exclude_unset=True)
    columns = sql.SQL(", ").join(map(sql.Identifier, payload))
    with psycopg.connect(url, autocommit=True) as connection:  # what PostgREST runs for a POST of the payload
        connection.execute(sql.SQL("insert into public.everything ({0}) select {0} from jsonb_populate_record("
                                   "null::public.everything, %s)").format(columns), (Jsonb(payload),))
        row = connection.execute("select to_jsonb(e) from public.everything e").fetchone()
    assert row is not None
    stored = models.PublicEverything.model_validate(row[0])
    assert stored.t_def == "x" and stored.m_arr_nn == ["ok"]


def test_names_needing_quotes_round_trip(corpus_db: Callable[[str], str], tmp_path: Path) -> None:
    url = corpus_db("04_names")
    path = tmp_path / "names_models.py"
    path.write_text(_generate(url, ("public", "api", "Sales Team")), encoding="utf-8")
    models = _import(path)
    try:
        data = {"ID": 1, "first name": "Ada", "last-name": "Lovelace", "123abc": 2, "$dollar": "$", "_under": "_",
                'quote"d': "q", "back\\slash": "b", "ünïcödé": "u", "名前": "n", "emoji😀": "e", "class": 3,
                "select": "s", "CamelCase": True, "level": "one", "api_level": "beta", "secret": "low",
                "secrets": ["high"], "hidden_pair": None, "weird": "it's", "many": "a20",
                "a_column_with_a_really_long_name_to_force_wrapping": None,
                "another_column_with_a_really_long_name_for_arrays": []}
        row = models.PublicUserAccounts.model_validate(data)
        assert row.first_name == "Ada" and row.class_ == 3 and row.under == "_" and row.名前 == "n"
        assert row.model_dump(by_alias=True) == data
        assert models.SalesTeamDeals.model_validate({"id": 1, "Owner": None, "stage": "two"}).Owner is None
        assert models.ApiUserAccounts.__name__ != models.PublicUserAccounts.__name__
    finally:
        sys.modules.pop("names_models", None)


def test_views_get_write_models_only_when_writable(corpus_db: Callable[[str], str], tmp_path: Path) -> None:
    url = corpus_db("05_views")
    path = tmp_path / "views_models.py"
    path.write_text(_generate(url, ("public",)), encoding="utf-8")
    models = _import(path)
    try:
        assert hasattr(models, "PublicCheapProductsInsert") and hasattr(models, "PublicCheapProductsUpdate")
        assert not hasattr(models, "PublicProductStatsInsert") and not hasattr(models, "PublicProductNamesUpdate")
        assert hasattr(models, "PublicInsertOnlyInsert") and not hasattr(models, "PublicInsertOnlyUpdate")
        partly = models.PublicPartlyUpdatableUpdate
        assert set(partly.model_fields) == {"id", "name"}  # computed columns cannot be written
        with pytest.raises(ValidationError, match="shout"):
            partly.model_validate({"shout": "HI"})
    finally:
        sys.modules.pop("views_models", None)
