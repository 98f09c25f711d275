"""Review text end to end: scored texts in the warehouse, text features point in time,
themes, topics, item quality against the simulator's truth, and the sentiment CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import liucun
from liucun.features import feature_frame
from liucun.pipeline.run import run
from liucun.tasks.reviews import (
    interests,
    item_quality,
    reviews_config,
    score_warehouse_texts,
    themes,
    topics,
)

TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")
SIM = {"users": 600, "days": 200, "holdout_days": 0, "seed": 5}
AS_OF = dt.date(2024, 7, 19)  # the day after the simulated data
MID = dt.date(2024, 5, 1)


@pytest.fixture(scope="module")
def shop(simulated_workspace: Callable[..., Path]) -> Path:
    path = simulated_workspace(TABLES, **SIM)
    with liucun.Workspace(path) as ws:
        score_warehouse_texts(ws)
    return path


def test_reviews_config_defaults_come_from_the_toml(ws: liucun.Workspace) -> None:
    assert reviews_config(ws) == {
        "in_run": True, "topics": 8, "topic_words": 8, "keywords": 8, "interest_keywords": 5,
        "interest_days": 180, "prior_reviews": 5.0, "prior_orders": 20.0,
        "quality_weights": {"rating": 0.4, "sentiment": 0.3, "refunds": 0.3}, "aspects": {},
    }  # fmt: skip


def test_every_review_text_is_scored_once_per_model(shop: Path) -> None:
    with liucun.Workspace(shop) as ws:
        con = ws.warehouse.con
        n_reviews = con.execute("SELECT count(*) FROM reviews WHERE trim(text) <> ''").fetchone()[0]
        scored = con.execute("SELECT count(*), count(DISTINCT _key) FROM text_scores").fetchone()
        assert scored == (n_reviews, n_reviews)
        assert score_warehouse_texts(ws)["scored"] == 0  # nothing new: nothing rescored
        # Sentiment follows the rating the simulator drew the text from.
        by = con.execute(
            "SELECT r.rating, avg(s.p_positive) FROM text_scores s JOIN reviews r USING (_key) "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
    p = dict(by)
    assert p[5] > 0.7 and p[1] < 0.3 and p[5] > p[4] > p[2] > p[1], p


def test_text_features_are_point_in_time(
    simulated_workspace: Callable[..., Path], tmp_path: Path
) -> None:
    with liucun.Workspace(simulated_workspace(TABLES, **SIM)) as ws:
        score_warehouse_texts(ws)
        before = feature_frame(ws, MID).set_index("user_id")
        user = str(before.index[before["review_sentiment_mean"].notna()][0])
        # A scathing review and a support message written on MID itself must not count
        # as of MID, and must count the day after.
        pd.DataFrame(
            {
                "user_id": [user],
                "ts": [pd.Timestamp(MID)],
                "text": ["太差了，质量很烂，物流也慢，退货！"],
                "item_id": ["i0001"],
                "rating": [1],
            }
        ).to_csv(tmp_path / "r.csv", index=False)
        ev = {"user_id": user, "ts": str(pd.Timestamp(MID)), "event_type": "support",
              "properties": json.dumps({"text": "我的退款一直没到账，太失望了"})}  # fmt: skip
        (tmp_path / "e.jsonl").write_text(json.dumps(ev, ensure_ascii=False) + "\n", "utf-8")
        ws.ingest("reviews", tmp_path / "r.csv")
        ws.ingest("events", tmp_path / "e.jsonl")
        assert score_warehouse_texts(ws)["scored"] == 2
        again = feature_frame(ws, MID).set_index("user_id")
        prefixes = ("review_sentiment", "complaints_", "negative_text", "support_texts")
        text_cols = [c for c in before.columns if c.startswith(prefixes)]
        pd.testing.assert_frame_equal(before[text_cols], again[text_cols])
        after = feature_frame(ws, MID + dt.timedelta(days=1)).set_index("user_id").loc[user]
    assert after["review_sentiment_last"] < 0.5
    assert after["complaints_quality"] >= 1 and after["complaints_delivery"] >= 1
    assert after["support_texts"] == 1 and after["sentiment_support_mean"] < 0.5


def test_run_writes_review_outputs_and_text_features(
    simulated_workspace: Callable[..., Path],
) -> None:
    path = simulated_workspace(TABLES, **SIM)
    with liucun.Workspace(path) as ws:
        res = run(ws, AS_OF)
    out = Path(res.run_dir)
    for name in ("item_quality", "themes", "topics", "interests"):
        assert Path(res.outputs[name]).is_file(), name
    feats = pd.read_parquet(out / "features.parquet")
    assert feats["review_sentiment_mean"].notna().sum() > 50
    th = pd.read_parquet(out / "themes.parquet")
    assert {"quality", "delivery"} <= set(th["aspect"])
    assert th["negative_share"].between(0, 1).all() and (th["keywords"] != "").any()
    tp = json.loads((out / "topics.json").read_text("utf-8"))
    assert len(tp) >= 2 and all(len(t["words"]) >= 3 for t in tp)
    it = pd.read_parquet(out / "interests.parquet")
    assert len(it) > 100 and it["keywords"].str.len().gt(0).all()


def test_item_quality_shrinks_thin_evidence_towards_the_category(
    ws: liucun.Workspace, tmp_path: Path
) -> None:
    good, bad = "质量很好，非常满意，推荐", "质量太差了，很失望，退货"
    rows = [("a", good, 5)] * 20 + [("b", bad, 1)] * 20 + [("c", bad, 1)] + [("e", good, 5)] * 3
    pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(len(rows))],
            "ts": pd.Timestamp("2024-03-01"),
            "item_id": [r[0] for r in rows],
            "text": [r[1] for r in rows],
            "rating": [r[2] for r in rows],
        }
    ).to_csv(tmp_path / "reviews.csv", index=False)
    pd.DataFrame(
        {"item_id": list("abcde"), "category": ["toys/dolls"] * 4 + ["books/fiction"]}
    ).to_csv(tmp_path / "items.csv", index=False)
    ws.ingest("reviews", tmp_path / "reviews.csv")
    ws.ingest("items", tmp_path / "items.csv")
    q = item_quality(ws, dt.date(2024, 4, 1)).set_index("item_id")["quality_score"]
    assert q.between(0, 1).all()
    # Worst first; one bad review moves c only part of the way; d, with no evidence, sits
    # at its category's mean; e, alone in its category, is judged on its own reviews.
    assert q["b"] < q["c"] < q["d"] < q["a"]
    assert abs(q["c"] - q["d"]) < abs(q["b"] - q["d"])
    assert q["e"] > q["d"]
    assert list(item_quality(ws, dt.date(2024, 4, 1))["item_id"][:1]) == ["b"]


def test_themes_by_item_and_topics_read_only_the_past(shop: Path) -> None:
    with liucun.Workspace(shop) as ws:
        early = themes(ws, MID, "item")
        late = themes(ws, AS_OF, "item")
        assert early["mentions"].sum() < late["mentions"].sum()
        assert topics(ws, dt.date(2024, 1, 2)) == []  # no reviews yet
        assert len(interests(ws, AS_OF)) > 0
        with pytest.raises(liucun.LiucunError, match="expected category"):
            themes(ws, AS_OF, "brand")


def _cli(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liucun.cli", "--workspace", str(ws), *args],
        capture_output=True,
        text=True,
    )


def test_sentiment_cli_trains_scores_and_names_bad_rows(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    pos = ["非常满意，五星好评", "质量很好，推荐购买", "love it, works great", "物流很快，包装完好"]
    neg = [
        "太差了，退货",
        "质量很烂，不推荐",
        "terrible, broke after a day",
        "物流太慢，客服不理人",
    ]
    train = pd.DataFrame({"text": pos * 10 + neg * 10, "label": ["positive"] * 40 + [0] * 40})
    train.to_csv(tmp_path / "train.csv", index=False)
    r = _cli(ws, "sentiment", "train", "--data", str(tmp_path / "train.csv"))
    assert r.returncode == 0, r.stderr
    assert "trained on 80 texts (40 positive, 40 negative)" in r.stdout
    pd.DataFrame({"id": [1, 2], "text": ["五星好评，非常满意", "太差了，不推荐"]}).to_csv(
        tmp_path / "in.csv", index=False
    )
    r = _cli(ws, "sentiment", "--in", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv"))
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(tmp_path / "o.csv")
    assert list(out.columns) == ["id", "text", "label", "p_positive", "lang"]
    assert list(out["label"]) == ["positive", "negative"]
    (tmp_path / "bad.csv").write_text("text,label\ngood,positive\nbad,maybe\n", "utf-8")
    r = _cli(ws, "sentiment", "train", "--data", str(tmp_path / "bad.csv"))
    assert r.returncode != 0
    assert "bad.csv: row 2, column label" in r.stderr and "Traceback" not in r.stderr
    r = _cli(ws, "sentiment", "--in", str(tmp_path / "train.csv"))
    assert r.returncode != 0 and "--out" in r.stderr


def test_assist_cli_answers_from_the_faq_and_hands_over_off_topic(tmp_path: Path) -> None:
    r = _cli(tmp_path / "ws", "assist", "where is my parcel", "--json")
    assert r.returncode == 0, r.stderr
    a = json.loads(r.stdout)
    assert a["intent"] == "delivery" and not a["handover"] and a["source"] == "faq"
    r = _cli(tmp_path / "ws", "assist", "今天天气怎么样")
    assert r.returncode == 0, r.stderr
    assert "handed over to a person" in r.stdout
