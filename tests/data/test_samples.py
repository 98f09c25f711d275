"""Samples shipped inside PyPI packages: each test runs only if its package is installed."""

from __future__ import annotations

import csv

import pytest

from liucun.data import samples
from liucun.data.samples import Sample, is_available, load_sample
from liucun.errors import LiucunError


def needs(name: str) -> None:
    if not is_available(name):
        pkg = samples.SAMPLES[name].package
        pytest.skip(f"sample {name} needs: pip install --no-deps {pkg}")


def test_ml100k(ws) -> None:
    needs("ml100k")
    report = load_sample(ws, "ml100k")
    got = {r.table: (r.read, r.loaded, r.quarantined) for r in report.results}
    assert got == {
        "events": (100_000, 100_000, 0),
        "items": (1_682, 1_682, 0),
        "users": (943, 943, 0),
    }
    con = ws.warehouse.con
    assert con.execute(
        "SELECT count(*), count(DISTINCT user_id), count(DISTINCT item_id), min(value), "
        "max(value) FROM events WHERE event_type = 'rate'"
    ).fetchone() == (100_000, 943, 1_682, 1.0, 5.0)
    again = load_sample(ws, "ml100k")
    assert [(r.table, r.loaded, r.updated, r.duplicates) for r in again.results] == [
        ("events", 0, 0, 100_000),
        ("items", 0, 0, 1_682),
        ("users", 0, 0, 943),
    ]
    assert ws.table("events").count().execute() == 100_000


def test_cdnow(ws) -> None:
    needs("cdnow")
    [r] = load_sample(ws, "cdnow").results
    assert (r.read, r.loaded, r.quarantined) == (69_659, 69_659, 0)
    con = ws.warehouse.con
    assert con.execute("SELECT count(*), count(DISTINCT user_id) FROM orders").fetchone() == (
        69_659,
        23_570,
    )
    [again] = load_sample(ws, "cdnow").results
    assert (again.loaded, again.duplicates) == (0, 69_659)
    assert ws.table("orders").count().execute() == 69_659


def test_reviews_zh(ws) -> None:
    needs("reviews-zh")
    report = load_sample(ws, "reviews-zh")
    out = ws.path / "samples" / "reviews-zh.csv"
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["text", "label"]
    body = rows[1:]
    assert body and all(len(r) == 2 and r[0] for r in body)
    assert {r[1] for r in body} == {"positive", "negative"}
    assert f"wrote {len(body):,} labelled reviews" in report.notes[0]


def test_unknown_sample_names_the_known_ones(ws) -> None:
    with pytest.raises(LiucunError, match="unknown sample 'nope'") as e:
        load_sample(ws, "nope")
    assert "ml100k" in str(e.value)


def test_missing_package_says_how_to_install(ws, monkeypatch) -> None:
    fake = Sample("fake", "liucun-no-such-package", ("x/y.csv",), "not installed")
    monkeypatch.setitem(samples.SAMPLES, "fake", fake)
    assert not is_available("fake")
    with pytest.raises(LiucunError) as e:
        load_sample(ws, "fake")
    assert "pip install --no-deps liucun-no-such-package" in str(e.value)
