"""``liucun recommend`` on real data through the CLI (issue 17, items 2 and 20).

MovieLens-100k ratings, as RecBole ships them (``ml-100k.inter``), ingested as events with
no items table: interactions alone must be enough. The file is read from the installed
``recbole`` package (never imported); a slice of its first lines keeps the tests fast.
"""

from __future__ import annotations

import datetime as dt
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest
from shared import run_cli

AS_OF = "1998-01-01"
CUT = int(dt.datetime(1998, 1, 1, tzinfo=dt.UTC).timestamp())
LINES = 3000


liucun = run_cli


def _inter_file() -> Path:
    try:
        dist = metadata.distribution("recbole")
    except metadata.PackageNotFoundError:
        pytest.fail("recbole (the MovieLens-100k sample) is a test dependency; not installed")
    return Path(str(dist.locate_file("recbole/dataset_example/ml-100k/ml-100k.inter")))


@pytest.fixture(scope="module")
def ml(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The first ratings of ml-100k in two workspaces: all of them, and only those before
    AS_OF; plus the ratings as a frame."""
    root = tmp_path_factory.mktemp("ml100k")
    with open(_inter_file(), encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(LINES)]
    header, body = lines[0], lines[1:]
    full = root / "ml-100k.inter"
    full.write_text(header + "".join(body), encoding="utf-8")
    early = root / "early" / "ml-100k.inter"
    early.parent.mkdir()
    early.write_text(
        header + "".join(ln for ln in body if int(float(ln.split("\t")[3])) < CUT),
        encoding="utf-8",
    )
    for name, f in (("full", full), ("early", early)):
        r = liucun(root / name, "ingest", "events", str(f), "--format", "movielens")
        assert r.returncode == 0, r.stderr
    ratings = pd.read_csv(full, sep="\t", dtype=str)
    ratings.columns = ["user_id", "item_id", "rating", "ts"]
    ratings["ts"] = ratings["ts"].astype(float).astype(int)
    return {"root": root, "ratings": ratings}


def test_recommend_from_ratings_alone_without_leakage(ml: dict[str, object]) -> None:
    """No items table: lists for every customer, never a rated item, no later rows read."""
    root = ml["root"]
    assert isinstance(root, Path)
    ratings = ml["ratings"]
    assert isinstance(ratings, pd.DataFrame)
    outs = {}
    for name in ("full", "early"):
        out = root / f"recs-{name}.csv"
        r = liucun(root / name, "recommend", "--as-of", AS_OF, "--k", "10", "--out", str(out))
        assert r.returncode == 0, r.stderr
        outs[name] = pd.read_csv(out, dtype={"user_id": str, "item_id": str})
    recs = outs["full"]
    assert list(recs.columns[:4]) == ["user_id", "rank", "item_id", "score"]
    before = ratings[ratings["ts"] < CUT]
    assert set(recs["user_id"]) == set(before["user_id"])
    for _, ranks in recs.groupby("user_id")["rank"]:
        assert list(ranks) == list(range(1, 11))
    rated = set(zip(before["user_id"], before["item_id"], strict=True))
    assert not [p for p in zip(recs["user_id"], recs["item_id"], strict=True) if p in rated]
    # Truncation: ratings at or after AS_OF change nothing.
    pd.testing.assert_frame_equal(recs, outs["early"])


def test_unknown_customer_is_an_error_not_a_list(ml: dict[str, object]) -> None:
    root, ratings = ml["root"], ml["ratings"]
    assert isinstance(root, Path) and isinstance(ratings, pd.DataFrame)
    r = liucun(root / "full", "recommend", "--as-of", AS_OF, "--user", "nosuch")
    assert r.returncode != 0
    assert r.stderr.strip() == f"error: no customer 'nosuch' known as of {AS_OF}"
    assert "999999" not in r.stdout
    # A customer whose first rating comes after AS_OF is not known as of AS_OF either.
    first = ratings.groupby("user_id")["ts"].min()
    later = str(first[first >= CUT].index[0])
    r = liucun(root / "full", "recommend", "--as-of", AS_OF, "--user", later)
    assert r.returncode != 0
    assert r.stderr.strip() == f"error: no customer '{later}' known as of {AS_OF}"


def _table_rows(stdout: str) -> list[list[str]]:
    """The cells of a Rich table's body rows (rank, item, score, why)."""
    rows = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        if len(cells) == 4 and cells[0].isdigit():
            rows.append(cells)
    return rows


def test_known_customer_list_with_reasons_that_name_other_items(tmp_path: Path) -> None:
    """A viewed (not bought) item comes back; its reason names another item, never itself."""
    rows = []
    t0 = dt.datetime(2024, 3, 1)
    # Baskets of pairs (a_n, b_n) bought together, and u1 who viewed a few of them.
    for u in range(40):
        for n in range(6):
            for part in ("a", "b"):
                ts = t0 + dt.timedelta(days=u % 7, hours=n, minutes=1 if part == "b" else 0)
                rows.append((f"u{u:02d}", f"{part}{(u + n) % 8}", ts, "purchase"))
    for n, item in enumerate(("a1", "a2", "b3", "a4")):
        rows.append(("viewer", item, t0 + dt.timedelta(days=8, hours=n), "view"))
    f = tmp_path / "events.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "ts", "event_type"]).to_csv(f, index=False)
    ws = tmp_path / "ws"
    assert liucun(ws, "ingest", "events", str(f)).returncode == 0
    # k = the catalogue: every item not bought is listed, the viewed ones too.
    r = liucun(ws, "recommend", "--as-of", "2024-03-20", "--user", "viewer", "--k", "16")
    assert r.returncode == 0, r.stderr
    table = _table_rows(r.stdout)
    assert len(table) == 16, r.stdout
    assert {"a1", "a2", "b3", "a4"} <= {c[1] for c in table}
    for _rank, item, score, why in table:
        assert float(score) < 1e5, (item, score)
        for lead in ("with ", "after ", "similar to "):
            if lead in why:
                assert why.split(lead, 1)[1].split()[0] != item, (item, why)


def test_known_customer_without_history_gets_an_honest_cold_start_list(tmp_path: Path) -> None:
    """Known (a users row) but nothing touched: trending items, said so, real scores."""
    ev = tmp_path / "events.csv"
    rows = [
        (f"u{u}", f"i{(u * 3 + n) % 9}", f"2024-03-0{1 + n} 10:00:00", "purchase")
        for u in range(30)
        for n in range(3)
    ]
    pd.DataFrame(rows, columns=["user_id", "item_id", "ts", "event_type"]).to_csv(ev, index=False)
    users = tmp_path / "users.csv"
    users.write_text("user_id,signup_ts\nnewbie,2024-03-02 09:00:00\n", encoding="utf-8")
    ws = tmp_path / "ws"
    for table, f in (("events", ev), ("users", users)):
        assert liucun(ws, "ingest", table, str(f)).returncode == 0
    r = liucun(ws, "recommend", "--as-of", "2024-03-10", "--user", "newbie", "--k", "5")
    assert r.returncode == 0, r.stderr
    assert "cold-start" in r.stdout + r.stderr
    table = _table_rows(r.stdout)
    assert len(table) == 5
    scores = [float(c[2]) for c in table]
    assert all(0 <= s <= 1 for s in scores), scores
    assert scores == sorted(scores, reverse=True)


def test_recommend_help_shows_bracketed_settings(tmp_path: Path) -> None:
    """Rich markup must not eat ``[recommend]`` in the option help."""
    r = liucun(tmp_path, "recommend", "--help")
    assert r.returncode == 0
    assert "[recommend] k in liucun.toml" in r.stdout
