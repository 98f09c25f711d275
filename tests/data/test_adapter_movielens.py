"""MovieLens adapter: ml-100k raw files, RecBole atomic files, ml-latest CSVs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
from shared import read_errors

import liucun
from liucun.errors import SourceError

FIX = Path(__file__).parent / "fixtures" / "movielens"


def data_lines(path: Path, header: bool) -> int:
    lines = [ln for ln in path.read_bytes().split(b"\n") if ln.strip()]
    return len(lines) - int(header)


def accounted(ws: liucun.Workspace, table: str, path: Path) -> dict[int, str | None]:
    """Source row → None if it landed in ``table``, else its quarantine reason."""
    con = ws.warehouse.con
    src = str(path)
    landed = con.execute(f"SELECT _row FROM {table} WHERE _source = ?", [src]).fetchall()
    bad = con.execute(
        "SELECT row_number, reason FROM quarantine WHERE table_name = ? AND source_file = ?",
        [table, src],
    ).fetchall()
    out: dict[int, str | None] = {r: None for (r,) in landed}
    for r, reason in bad:
        assert r not in out, f"row {r} both loaded and quarantined"
        out[r] = reason
    return out


def test_u_data_ratings_become_rate_events(ws) -> None:
    f = FIX / "u.data"
    [r] = ws.ingest("events", f, format="movielens")
    assert (r.read, r.loaded, r.quarantined) == (12, 10, 2)
    assert r.balanced
    assert r.reasons == {
        "expected 4 tab-separated fields, found 3": 1,
        "non-numeric value NA": 1,
    }
    acc = accounted(ws, "events", f)
    assert sorted(acc) == list(range(1, data_lines(f, header=False) + 1))
    assert acc[11] == "expected 4 tab-separated fields, found 3"
    assert acc[12] == "non-numeric value NA"
    df = ws.table("events").execute()
    assert set(df["event_type"]) == {"rate"}
    first = df[df["_row"] == 1].iloc[0]
    assert (first["user_id"], first["item_id"], first["value"]) == ("196", "242", 3.0)
    assert first["ts"] == pd.Timestamp("1997-12-04 15:55:49")  # 881250949 UTC
    assert df["value"].sum() == 3 + 3 + 1 + 2 + 1 + 4 + 2 + 5 + 3 + 3


def test_u_item_latin1_titles_and_first_genre(ws) -> None:
    f = FIX / "u.item"
    [r] = ws.ingest("items", f, format="movielens")
    assert (r.read, r.loaded, r.quarantined) == (11, 10, 1)
    assert r.reasons == {"genre flags must be 0 or 1": 1}
    assert accounted(ws, "items", f)[11] == "genre flags must be 0 or 1"
    df = ws.table("items").execute().set_index("item_id")
    assert df.loc["543", "title"] == "Misérables, Les (1995)"
    assert df.loc["1633", "title"] == "Á köldum klaka (Cold Fever) (1994)"
    assert df.loc["1", "category"] == "Animation"
    assert df.loc["1", "description"] == "Animation, Children's, Comedy"
    assert df.loc["2", "category"] == "Action"
    assert df.loc["2", "description"] == "Action, Adventure, Thriller"
    # The pseudo-genre "unknown" is no genre.
    assert df.loc["267", "title"] == "unknown"
    assert pd.isna(df.loc["267", "category"]) and pd.isna(df.loc["1373", "category"])
    assert "1682" not in df.index


def test_u_item_saved_as_utf8_still_reads(ws, tmp_path) -> None:
    f = tmp_path / "u.item"
    f.write_text((FIX / "u.item").read_text(encoding="latin-1"), encoding="utf-8")
    ws.ingest("items", f, format="movielens")
    df = ws.table("items").execute().set_index("item_id")
    assert df.loc["543", "title"] == "Misérables, Les (1995)"


def test_quotes_in_a_title_are_kept_as_text(ws, tmp_path) -> None:
    line = (FIX / "u.item").read_text(encoding="latin-1").splitlines()[0]
    f = tmp_path / "u.item"
    f.write_text(line.replace("Toy Story", '"Toy" Story') + "\n", encoding="latin-1")
    [r] = ws.ingest("items", f, format="movielens")
    assert (r.loaded, r.quarantined) == (1, 0)
    assert ws.table("items").execute()["title"].tolist() == ['"Toy" Story (1995)']


def test_u_user_zip_is_region_and_the_rest_attributes(ws) -> None:
    f = FIX / "u.user"
    [r] = ws.ingest("users", f, format="movielens")
    assert (r.read, r.loaded, r.quarantined) == (7, 6, 1)
    assert accounted(ws, "users", f)[7] == "expected 5 |-separated fields, found 4"
    df = ws.table("users").execute().set_index("user_id")
    assert df.loc["1", "region"] == "85711"
    assert df.loc["74", "region"] == "T8H1N"  # Canadian postcodes are text
    assert json.loads(df.loc["2", "attributes"]) == {
        "age": 53,
        "gender": "F",
        "occupation": "other",
    }


def test_recbole_atomic_files(ws) -> None:
    inter, item, user = (FIX / f"ml-100k.{x}" for x in ("inter", "item", "user"))
    [e] = ws.ingest("events", inter, format="movielens")
    assert (e.read, e.loaded, e.quarantined) == (14, 13, 1)
    assert e.reasons == {"non-numeric value three": 1}
    assert sorted(accounted(ws, "events", inter)) == list(range(1, 15))
    [i] = ws.ingest("items", item, format="movielens")
    assert (i.read, i.loaded, i.quarantined) == (10, 10, 0)
    [u] = ws.ingest("users", user, format="movielens")
    assert (u.read, u.loaded, u.quarantined) == (6, 6, 0)

    ev = ws.table("events").execute()
    assert set(ev["event_type"]) == {"rate"}
    assert ev[ev["_row"] == 13][["user_id", "item_id", "value"]].values.tolist() == [
        ["7", "543", 3.0]
    ]
    items = ws.table("items").execute().set_index("item_id")
    assert items.loc["1", "title"] == "Toy Story"
    assert items.loc["1", "category"] == "Animation"
    assert items.loc["1", "description"] == "Animation, Children's, Comedy"
    assert items.loc["543", "title"] == "Misérables, Les"
    assert pd.isna(items.loc["267", "category"])
    users = ws.table("users").execute().set_index("user_id")
    assert json.loads(users.loc["74", "attributes"]) == {
        "age": 39,
        "gender": "M",
        "occupation": "scientist",
    }


def test_raw_and_recbole_users_are_the_same_rows(ws) -> None:
    ws.ingest("users", FIX / "u.user", format="movielens")
    [r] = ws.ingest("users", FIX / "ml-100k.user", format="movielens")
    assert (r.read, r.loaded, r.updated, r.duplicates) == (6, 0, 0, 6)


def test_ml_latest_ratings_and_movies(ws) -> None:
    [e] = ws.ingest("events", FIX / "ratings.csv", format="movielens")
    assert (e.read, e.loaded, e.quarantined) == (8, 8, 0)
    ev = ws.table("events").execute()
    assert ev[ev["_row"] == 8][["user_id", "item_id", "value"]].values.tolist() == [
        ["3", "31", 0.5]
    ]
    [i] = ws.ingest("items", FIX / "movies.csv", format="movielens")
    assert (i.read, i.loaded, i.quarantined) == (5, 5, 0)
    items = ws.table("items").execute().set_index("item_id")
    assert items.loc["11", "title"] == "American President, The (1995)"
    assert items.loc["1", "category"] == "Adventure"
    assert pd.isna(items.loc["114335", "category"])  # "(no genres listed)"


@pytest.mark.parametrize(
    ("table", "name"),
    [
        ("events", "u.data"),
        ("items", "u.item"),
        ("users", "u.user"),
        ("events", "ml-100k.inter"),
        ("items", "ml-100k.item"),
        ("users", "ml-100k.user"),
        ("events", "ratings.csv"),
        ("items", "movies.csv"),
    ],
)
def test_reingest_is_all_duplicates(ws, table, name) -> None:
    [first] = ws.ingest(table, FIX / name, format="movielens")
    [again] = ws.ingest(table, FIX / name, format="movielens")
    assert again.read == first.read
    assert (again.loaded, again.updated) == (0, 0)
    assert again.duplicates == first.loaded
    assert again.quarantined == first.quarantined  # bad rows stay bad, reported again


@pytest.mark.parametrize(
    ("table", "name", "fills"),
    [("items", "u.data", "events"), ("events", "ml-100k.user", "users")],
)
def test_layout_that_does_not_fit_the_table_is_one_clear_error(ws, table, name, fills) -> None:
    with pytest.raises(SourceError) as e:
        ws.ingest(table, FIX / name, format="movielens")
    msg = str(e.value)
    assert "\n" not in msg
    assert f"fills {fills}, not {table}" in msg
    assert ws.table(table).count().execute() == 0


def test_unknown_layout_is_an_error(ws, tmp_path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(SourceError, match="not a MovieLens layout"):
        ws.ingest("events", f, format="movielens")


def test_gzipped_and_leading_blank_lines(ws, tmp_path) -> None:
    gz = tmp_path / "ml-100k.inter.gz"
    gz.write_bytes(gzip.compress(b"\n" + (FIX / "ml-100k.inter").read_bytes()))
    [r] = ws.ingest("events", gz, format="movielens")
    assert (r.read, r.loaded, r.quarantined) == (14, 13, 1)
    assert ws.warehouse.con.execute("SELECT min(_row), max(_row) FROM events").fetchone() == (
        1,
        13,
    )


@pytest.mark.parametrize(
    ("name", "table", "data"),
    [
        (
            "u.data",
            "events",
            b"196\t242\t3\t881250949\n1\xff6\t302\t3\t891717742\n22\t377\t1\t878887116\n",
        ),
        (
            "movies.csv",
            "items",
            b"movieId,title,genres\n1,Toy Story (1995),Comedy\n"
            b"2,Jum\xffanji (1995),Fantasy\n3,Heat (1995),Action\n",
        ),
    ],
)
def test_line_with_bad_bytes_is_quarantined_not_loaded(ws, tmp_path, name, table, data) -> None:
    src = tmp_path / name
    src.write_bytes(data)
    # The bytes would decode as latin-1: only a file said to be UTF-8 has a bad line.
    [r] = ws.ingest(table, src, format="movielens", encoding="utf-8")
    assert (r.read, r.loaded, r.quarantined) == (3, 2, 1)
    [(t, row, _, why)] = read_errors(ws)
    assert (t, row, why) == (table, 2, "invalid utf-8 byte sequence")
    assert "\ufffd" not in ws.table(table).execute().to_string()
