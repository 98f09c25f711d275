"""Message drafts from a workspace: each customer's language (users settings, reviews, the
shop's default), a greeting that fits when they last ordered, recommended items, and no
model reasons in the customer's text, through ``message_context`` and ``liucun plan
--messages`` into ``campaign export``.

A mixed zh/en simulated shop (300 customers, 150 days) without past campaigns, so the
planner proposes a first test whatever the uplift models would say.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import liucun
from liucun.features import feature_frame
from liucun.models.text.lang import CJK
from liucun.tasks.campaigns import export_plan
from liucun.tasks.messages import CONTEXT_COLUMNS, drafts, message_context

TABLES = ("users", "items", "orders", "order_items", "events", "reviews")
SIM = {"users": 300, "days": 150, "holdout_days": 0, "seed": 5}
REASON_FRAGMENTS = re.compile(
    r"×|no (?:purchase|order|visit)s? for|p_churn|BG/NBD|current gap|\d+(?:\.\d+)? ?days?\b"
    r"|\d+ ?天|on record|customer for"
)
LAPSING = re.compile(r"been a while|miss you|好久不见|想您")
NO_RECS = pd.DataFrame(columns=["user_id", "item_id", "rank"])


@pytest.fixture(scope="module")
def shop(simulated_workspace: Callable[..., Path]) -> Path:
    return simulated_workspace(TABLES, **SIM)


@pytest.fixture(scope="module")
def sim_langs(simulated: Callable[..., Path]) -> pd.Series:
    """The language each simulated customer reads (the users `attributes` JSON)."""
    users = pd.read_parquet(simulated(**SIM) / "users.parquet")
    return pd.Series(
        [json.loads(a)["lang"] for a in users["attributes"]], index=users["user_id"].astype(str)
    )


def last_order_day(ws: liucun.Workspace) -> dt.date:
    ts = ws.warehouse.con.execute("SELECT max(ts) FROM orders").fetchone()[0]
    return pd.Timestamp(ts).date()


def test_mixed_shop_gets_each_customer_in_their_language(shop: Path, sim_langs: pd.Series) -> None:
    with liucun.Workspace(shop) as ws:
        day = last_order_day(ws) + dt.timedelta(days=1)  # someone bought "yesterday"
        users = sorted(sim_langs.index)
        actions = ["coupon_fixed", "coupon_pct", "free_shipping", "reco_push", "control"]
        plan = pd.DataFrame({"user_id": users, "action": (actions * len(users))[: len(users)]})
        ctx = message_context(ws, day, plan, recommendations=NO_RECS)
        features = feature_frame(ws, day)
        out = drafts(ws, plan, ctx)
    assert list(ctx.columns) == CONTEXT_COLUMNS
    contacted = plan.loc[plan["action"] != "control", "user_id"]
    assert sorted(out["user_id"]) == sorted(contacted)

    # Every simulated customer has a language setting: each draft is in it.
    want = sim_langs.reindex(out["user_id"]).to_numpy()
    assert set(want) == {"zh", "en"}
    assert (out["language"].to_numpy() == want).all()
    has_cjk = (out["subject"] + out["body"]).map(lambda t: bool(CJK.search(t)))
    assert has_cjk[out["language"] == "zh"].all() and not has_cjk[out["language"] == "en"].any()

    # Recency as the features count it, without being handed the features.
    rec = features.set_index("user_id")["recency_days"].reindex(ctx["user_id"])
    pd.testing.assert_series_equal(
        ctx["days_since_order"].reset_index(drop=True),
        rec.reset_index(drop=True).astype(float),
        check_names=False,
    )
    ago = out["user_id"].map(ctx.set_index("user_id")["days_since_order"])
    text = out["subject"] + " " + out["body"]
    yesterday = ago <= 1
    assert yesterday.any(), "the shop should have a customer who ordered the day before"
    assert not text[ago < 14].str.contains(LAPSING).any()
    assert (out.loc[ago < 14, "recency"] == "recent").all()
    assert (out.loc[ago.isna(), "recency"] == "new").all()
    assert text[(ago >= 14)].str.contains(LAPSING).all()
    assert not text.str.contains(REASON_FRAGMENTS).any()
    assert (out["items"] == "").all()  # an empty recommendations frame: no items


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """Five customers: one says en-US but reviews in Chinese, one in region US, two known
    only by their reviews, one by nothing (the shop's default, zh, applies)."""
    ws_path = tmp_path / "ws"
    users = _csv(
        tmp_path / "users.csv",
        "user_id,signup_ts,region,locale\n"
        "u1,2024-01-01,east,en-US\nu2,2024-01-01,east,\nu3,2024-01-01,east,\n"
        "u4,2024-01-01,east,\nu5,2024-01-01,US,\n",
    )
    orders = _csv(
        tmp_path / "orders.csv",
        "order_id,user_id,ts,amount\n"
        "o1,u1,2024-05-31 18:00,20\no2,u2,2024-04-01,30\no3,u5,2024-05-25,15\n",
    )
    reviews = _csv(
        tmp_path / "reviews.csv",
        "user_id,ts,text,item_id\n"
        "u1,2024-05-10,质量很好，下次还来,i1\n"
        "u2,2024-03-01,包装不错，物流很快,i1\nu2,2024-03-05,nice,i2\n"
        "u2,2024-03-09,颜色和图片一样 很喜欢,i2\n"
        "u3,2024-03-02,Great tea and fast delivery,i1\n"
        "u5,2024-05-02,很好,i1\n"
        "u4,2024-06-05,written after as_of: not read,i1\n",
    )
    items = _csv(
        tmp_path / "items.csv", "item_id,category,price,title\ni1,tea,9,Green Tea\ni2,mug,5,\n"
    )
    with liucun.Workspace(ws_path) as ws:
        for name, f in (("users", users), ("orders", orders), ("reviews", reviews)):
            ws.ingest(name, f)
        ws.ingest("items", items)
    (ws_path / "liucun.toml").write_text('[plan.messages]\nlanguage = "zh"\n', encoding="utf-8")
    return ws_path


def test_language_from_settings_then_reviews_then_shop_default(tiny: Path) -> None:
    plan = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u4", "u5"],
            "action": ["coupon_fixed", "reco_push", "coupon_pct", "free_shipping", "reco_push"],
        }
    )
    recs = pd.DataFrame(
        {"user_id": ["u2", "u2", "u3"], "item_id": ["i2", "i1", "i1"], "rank": [2, 1, 1]}
    )
    scores = pd.DataFrame({"user_id": ["u1"], "segment": ["x"], "reasons": ["no order for 3 days"]})
    with liucun.Workspace(tiny) as ws:
        ctx = message_context(ws, dt.date(2024, 6, 1), plan, scores, recs).set_index("user_id")
        out = drafts(ws, plan, ctx.reset_index()).set_index("user_id")
    got = ctx["language"].fillna("").to_dict()
    assert got == {"u1": "en", "u2": "zh", "u3": "en", "u4": "", "u5": "en"}
    assert out["language"].to_dict() == {"u1": "en", "u2": "zh", "u3": "en", "u4": "zh", "u5": "en"}
    assert ctx["recency"].to_dict() == {
        "u1": "recent", "u2": "lapsing", "u3": "new", "u4": "new", "u5": "recent",
    }  # fmt: skip
    assert 0 < ctx.loc["u1", "days_since_order"] < 1
    # Items best first, titled where the catalogue has a title.
    assert ctx.loc["u2", "items"] == ["Green Tea", "i2"] and ctx.loc["u3", "items"] == ["Green Tea"]
    assert "Green Tea、i2" in out.loc["u2", "body"] and "Green Tea" in out.loc["u3", "body"]
    # u1 bought the evening before: thanked; the reason stays internal.
    assert out.loc["u1", "body"].startswith("Thanks for your recent order!")
    assert "3 days" not in out.loc["u1", "subject"] + out.loc["u1", "body"]
    assert out.loc["u1", "internal_reasons"] == "no order for 3 days"
    assert out.loc["u2", "body"].startswith("好久不见") and out.loc["u4", "body"].startswith("欢迎")


def test_plan_command_drafts_with_items_and_export_carries_them(
    shop: Path, sim_langs: pd.Series, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-m", "liucun.cli", "--workspace", str(shop), "plan",
         "--out", str(out_dir / "plan.parquet"), "--messages", str(out_dir / "messages.parquet")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    plan = pd.read_parquet(out_dir / "plan.parquet")
    msgs = pd.read_parquet(out_dir / "messages.parquet")
    contacted = plan.loc[plan["action"] != "control", "user_id"]
    assert len(contacted) > 0 and sorted(msgs["user_id"]) == sorted(contacted)

    # Recommendations were computed for the drafts: every body names its items.
    assert (msgs["items"] != "").all()
    for body, items in zip(msgs["body"], msgs["items"], strict=True):
        assert all(title in body for title in items.split("; ")), (body, items)
    text = msgs["subject"] + " " + msgs["body"]
    assert not text.str.contains(REASON_FRAGMENTS).any(), text[text.str.contains(REASON_FRAGMENTS)]
    assert (msgs["internal_reasons"] != "").any()  # the reasons, for the marketer only
    assert (msgs["language"].to_numpy() == sim_langs.reindex(msgs["user_id"]).to_numpy()).all()

    # `campaign export` joins the drafts sitting next to the plan.
    path, n = export_plan(out_dir / "plan.parquet", "csv", tmp_path / "contacts.csv")
    exported = pd.read_csv(path, dtype=str).set_index("user_id")
    assert n == len(msgs)
    by_user = msgs.set_index("user_id")
    assert (exported.loc[by_user.index, "body"] == by_user["body"]).all()
    assert "internal_reasons" not in exported
