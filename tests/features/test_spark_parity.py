"""The same feature code on Spark: every column equal to DuckDB's, at two cutoffs.

One local SparkSession serves the whole run (cold start and first query cost ~10 s each on
2 cores). The shop is simulated and then given a few hand-made customers on the edges where
engines part ways: unrated reviews, orders that were never paid, NULL and tied categories,
equal gaps, orders at the same instant, 23:59:59 on a Sunday, 18:00 sharp, the window
boundaries, a contact rate above 1.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import liucun
from liucun.engines import MISSING, spark_session, spark_tables, workspace_engine, workspace_tables
from liucun.errors import LiucunError
from liucun.features import build_features
from liucun.sim import simulate


@pytest.fixture(scope="module", autouse=True)
def _pyspark_installed() -> None:
    """Loud, never a silent skip: a quick run leaves these tests out with -m 'not spark'."""
    if importlib.util.find_spec("pyspark") is None:
        pytest.fail(
            "the Spark tests need pyspark and Java 17+: pip install -e '.[spark]', "
            "or leave them out with: pytest -m 'not spark'"
        )


# pyspark 4.0 calls pandas 3's astype(copy=...) when it hands results over
pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]

AS_OFS = (dt.date(2024, 3, 1), dt.date(2024, 4, 15))
RTOL = 1e-9
# Floating sums and spreads in another order: measured, only ipi_std_days differs, by at
# most 3e-14 days at 1M events; ATOL covers a value that is 0 on one engine, not the other.
ATOL = 1e-9

EDGES = {
    "users": (
        "user_id,signup_ts,region\n"
        "zz_silent,,north\n"  # no signup date, no activity: known, tenure NULL
        "zz_late,2024-04-20 00:00:00,\n"  # signs up after both cutoffs
        "zz_tie,2024-01-02 00:00:00,\n"
    ),
    "items": (
        "item_id,category,price\n"
        "zz_i1,,5\n"  # no category
        "zz_i2,b/x,5\n"
        "zz_i3,a/y,5\n"
        "zz_i4,a,5\n"
    ),
    "orders": (
        "order_id,user_id,ts,amount,status,coupon_code,discount\n"
        # never paid: no paid order, aov NULL (0 / 0 raises under Spark's ANSI mode)
        "zz_o1,zz_ref,2024-02-10 18:00:00,20,refunded,,0\n"
        "zz_o2,zz_ref,2024-02-11 17:59:59,20,cancelled,,0\n"
        # 23:59:59 on a Sunday, two orders at the same instant, the 30-day boundary
        "zz_o3,zz_tie,2024-02-04 23:59:59,10,paid,C1,1.5\n"
        "zz_o4,zz_tie,2024-02-04 23:59:59,10,paid,C1,0\n"
        "zz_o5,zz_tie,2024-01-31 00:00:00,10.1,paid,,0\n"
        "zz_o6,zz_tie,2024-03-01 00:00:00,7,paid,,0\n"  # exactly at the first cutoff
        # equal gaps: spread exactly 0
        "zz_e1,zz_even,2024-01-05 10:00:00,3,paid,,0\n"
        "zz_e2,zz_even,2024-01-12 10:00:00,3,paid,,0\n"
        "zz_e3,zz_even,2024-01-19 10:00:00,3,paid,,0\n"
        "zz_s1,zz_one,2024-02-20 12:00:00,1,paid,,0\n"
    ),
    "order_items": (
        "order_id,item_id,quantity,price\n"
        "zz_o3,zz_i1,1,5\n"  # NULL, a, b: tied, 'a' wins on both engines
        "zz_o4,zz_i3,1,5\n"
        "zz_o5,zz_i2,1,5\n"
        "zz_o1,zz_i4,1,5\n"
        "zz_e1,zz_i2,1,5\n"  # b and a tied
        "zz_e2,zz_i4,1,5\n"
    ),
    "reviews": (
        "user_id,ts,text,item_id,rating\n"
        "zz_unrated,2024-02-01 10:00:00,meh,zz_i2,\n"  # no rating on any review
        "zz_unrated,2024-02-02 10:00:00,meh again,zz_i3,\n"
        "zz_tie,2024-02-05 10:00:00,bad,zz_i3,1\n"
    ),
    "treatments": (
        "user_id,ts,campaign_id,action,arm,cost\n"
        "zz_tie,2024-02-01 09:00:00,zz_c1,coupon_fixed,treatment,0.05\n"  # rate 2 → 1
        "zz_ctl,2024-02-01 09:00:00,zz_c1,coupon_fixed,control,0\n"
    ),
    "events": (
        "user_id,ts,event_type,item_id,session_id,value\n"
        "zz_ev,2024-02-25 10:00:00,view,zz_i2,,\n"  # no session
        "zz_ev,2024-02-25 10:01:00,add_to_cart,zz_i2,zz_s1,\n"
        "zz_ev,2024-02-25 10:02:00,view,,zz_s1,\n"
        "zz_ev,2024-02-26 00:00:00,opt_out,,,\n"
        "zz_tie,2024-02-04 23:50:00,add_to_cart,zz_i3,zz_s2,\n"
        "zz_tie,2024-02-04 23:59:59,purchase,zz_i3,zz_s2,\n"
    ),
}


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the whole test run."""
    session = spark_session(app_name="liucun-tests", shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, spark) -> tuple[dict, dict]:
    """(DuckDB tables, Spark tables) of the same shop; Spark ones via engine = "spark"."""
    root = tmp_path_factory.mktemp("parity")
    simulate(root / "sim", users=800, days=120, holdout_days=0, seed=11)
    ws = liucun.Workspace(root / "ws")
    for t in ("users", "items", "orders", "order_items", "events", "reviews", "treatments"):
        ws.ingest(t, root / "sim" / f"{t}.parquet")
        edge = root / f"edge_{t}.csv"
        edge.write_text(EDGES[t], encoding="utf-8")
        ws.ingest(t, edge, strict=True)
    duck = workspace_tables(ws)
    toml = ws.path / "liucun.toml"
    toml.write_text(toml.read_text().replace('engine = "duckdb"', 'engine = "spark"'))
    assert workspace_engine(ws) == "spark"
    on_spark = workspace_tables(ws)
    assert set(on_spark) == set(duck)
    for name, t in on_spark.items():
        assert t._find_backend().name == "pyspark"
        assert t.columns == duck[name].columns
    return duck, on_spark


def _mismatches(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Columns that differ: NULLs in other places, numbers beyond RTOL, text not equal."""
    bad = []
    for c in a.columns:
        x, y = a[c], b[c]
        nx, ny = x.isna().to_numpy(), y.isna().to_numpy()
        if (nx != ny).any():
            bad.append(f"{c}: NULL in {int(nx.sum())} rows on DuckDB, {int(ny.sum())} on Spark")
            continue
        x, y = x[~nx], y[~ny]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xv, yv = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
            off = ~np.isclose(xv, yv, rtol=RTOL, atol=ATOL)
        else:
            off = x.to_numpy(dtype=object) != y.to_numpy(dtype=object)
        if off.any():
            i = int(np.argmax(off))
            who = a.loc[~nx, "user_id"].iloc[i]
            bad.append(
                f"{c}: {int(off.sum())} rows differ, e.g. {who}: {x.iloc[i]!r} vs {y.iloc[i]!r}"
            )
    return bad


@pytest.mark.parametrize("as_of", AS_OFS, ids=str)
def test_features_match_on_duckdb_and_spark(engines, as_of: dt.date) -> None:
    duck, on_spark = engines
    d_expr, s_expr = build_features(duck, as_of), build_features(on_spark, as_of)
    assert d_expr.schema() == s_expr.schema()
    a = d_expr.execute().sort_values("user_id", kind="stable").reset_index(drop=True)
    b = s_expr.execute().sort_values("user_id", kind="stable").reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) and a["user_id"].tolist() == b["user_id"].tolist()
    assert len(a.columns) > 40 and a["user_id"].str.startswith("zz_").sum() >= 7
    assert not (bad := _mismatches(a, b)), "Spark differs from DuckDB:\n" + "\n".join(bad)
    # The edges hold what they were made for (on both engines, as they match).
    e = a.set_index("user_id")
    assert pd.isna(e.loc["zz_ref", "aov"]) and e.loc["zz_ref", "evening_order_share"] == 0.5
    assert e.loc["zz_unrated", "reviews_total"] == 2
    assert pd.isna(e.loc["zz_unrated", "negative_review_share"])
    assert e.loc["zz_tie", "top_category"] == "a" and e.loc["zz_even", "top_category"] == "a"
    assert e.loc["zz_tie", "coupon_response_rate"] == 1.0
    # Sunday 23:59:59 twice and a Wednesday; the order at the first cutoff (a Friday) later
    weekend = 2 / 3 if as_of == AS_OFS[0] else 2 / 4
    assert e.loc["zz_tie", "weekend_order_share"] == pytest.approx(weekend)
    assert e.loc["zz_even", "ipi_std_days"] == 0
    assert pd.isna(e.loc["zz_silent", "tenure_days"]) and "zz_late" not in e.index


def test_engine_setting_is_checked(tmp_path: Path) -> None:
    ws = liucun.Workspace(tmp_path / "ws")
    assert workspace_engine(ws) == "duckdb"
    (ws.path / "liucun.toml").write_text('[warehouse]\nengine = "hive"\n')
    with pytest.raises(LiucunError, match="engine must be one of duckdb, spark"):
        workspace_tables(ws)


def test_missing_pyspark_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(LiucunError) as err:
        spark_tables(liucun.Workspace(tmp_path / "ws"))
    assert (
        str(err.value) == MISSING == "the spark engine needs pyspark: pip install 'liucun[spark]'"
    )
