"""What an analyst sees on the dashboard, over a small hand-made run (no simulation, so
the file runs in seconds): reasons split only between reasons (never inside brackets),
ROI written as a percentage, every table in a horizontal scroller, and each model's
colour on the charts the same as in the report and the backtest pages.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from liucun import look
from liucun.pipeline.aggregates import frame_aggregates
from liucun.serve.app import create_app
from liucun.serve.keys import KeyStore
from liucun.serve.snapshot import Snapshots, split_reasons

RUN_ID = "20250301T000000000000Z"
AS_OF = "2025-03-01"
N = 12  # customers
MONTHS = 36  # a shop with three years of cohorts: the widest table
# Ids as a shop's own: 32 hex digits with nowhere to break a line.
TOP = "00a5f2c7e9b14d3c8f6e2a7b9c0d1e2f"  # the riskiest account
PAGES = (
    "/",
    "/segments",
    "/at-risk",
    "/campaigns",
    "/reviews",
    "/risk",
    "/model",
    f"/customers/{TOP}",
)

# Reasons as the risk detector writes them: joined with "; ", one with "; " inside nested
# parentheses (the anomaly reason), one with a full-width pair and a bracketed list.
ANOMALY = "unusual behaviour (top 0.5%; discounts / (paid amounts + discounts): 1)"
WIDE = "共用设备（3 个账户；同一地址）"
LISTED = "coupons [WELCOME; SPRING]"
RISK_REASONS = f"many coupons per order; {ANOMALY}; {WIDE}; {LISTED}"
ORDER_REASONS = (
    "coupon order refunded; amount ≥ 3× the shop's 99th percentile (p99 120.00; max 990.00)"
)
CHURN_REASONS = "no order in 90 days (usual gap 20; longest 35); fewer visits"
# Action names as a shop may set them in liucun.toml: one long enough to widen a table.
ACTIONS = [
    "coupon_10_percent_off_the_next_order_of_lapsed_buyers",
    "email_win_back",
    "control",
    "free_shipping_weekend_over_fifty",
]
ROI = -60.62  # a read-out's (incremental revenue - cost) / cost


def _frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    ids = [f"{i:02d}{TOP[2:]}" for i in range(N)]
    stages = ["active", "new", "at_risk", "dormant"]
    segments = ["Champions", "Loyal", "Hibernating", "A segment with a rather long name"]
    p = np.linspace(0.95, 0.05, N)
    customers = pd.DataFrame(
        {
            "user_id": ids,
            "segment": [segments[i % 4] for i in range(N)],
            "lifecycle_stage": [stages[i % 4] for i in range(N)],
            "cluster_name": "bargain hunters",
            "r_score": [1 + i % 5 for i in range(N)],
            "f_score": [1 + (i * 2) % 5 for i in range(N)],
            "m_score": [1 + (i * 3) % 5 for i in range(N)],
            "orders_total": rng.integers(1, 20, N),
            "revenue_total": rng.uniform(10, 5000, N),
            "recency_days": rng.uniform(1, 300, N),
            "tenure_days": rng.uniform(300, 900, N),
            "top_category": "kitchen",
            "tags": "vip,coupon-lover,weekend-shopper,mobile-only,gift-buyer",
        }
    )
    scores = pd.DataFrame(
        {
            "user_id": ids,
            "p_churn": p,
            "expected_orders": rng.uniform(0, 3, N),
            "expected_revenue": rng.uniform(0, 900, N),
            "clv_365d": rng.uniform(100, 9000, N),
            "next_order_date": "2025-04-01",
            "risk_band": np.where(p > 0.6, "high", np.where(p > 0.3, "medium", "low")),
            "segment": customers["segment"],
            "lifecycle_stage": customers["lifecycle_stage"],
            "reasons": CHURN_REASONS,
        }
    )
    plan = pd.DataFrame(
        {
            "user_id": ids,
            "action": ACTIONS * (N // 4),
            "cost": rng.uniform(0, 10, N),
            "expected_uplift": rng.uniform(0, 40, N),
            "p_churn": p,
            "segment": customers["segment"],
            "reason": "the best net uplift of the actions allowed",
        }
    )
    risk = pd.DataFrame(
        {
            "user_id": ids,
            "risk_score": np.linspace(0.99, 0.01, N),
            "risk_band": ["high"] * 3 + ["medium"] * 3 + ["low"] * (N - 6),
            "risk_reasons": [RISK_REASONS] + ["many coupons per order"] * (N - 1),
            "rule_score": np.linspace(0.9, 0.0, N),
            "anomaly": np.linspace(0.99, 0.0, N),
            "rule_coupon_abuse": [True] * 4 + [False] * (N - 4),
            "rule_shared_device": [True] * 2 + [False] * (N - 2),
        }
    )
    risk_orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2"],
            "user_id": ids[:2],
            "ts": pd.to_datetime(["2025-02-01 10:00", "2025-02-02 11:00"]),
            "amount": [990.0, 35.5],
            "discount": [10.0, 5.0],
            "status": ["refunded", "paid"],
            "reasons": [ORDER_REASONS, "coupon order refunded"],
        }
    )
    aspects = ["price", "delivery", "quality", "packaging", "service", "size", "colour"]
    themes = pd.DataFrame(
        [
            {"group": g, "aspect": a, "mentions": 40, "negative_share": 0.25, "reviews": 400,
             "keywords": "broken lid, late parcel, smells odd, wrong colour, too small"}
            for g in ("kitchen", "garden", "a category with a long name") for a in aspects
        ]
    )  # fmt: skip
    item_quality = pd.DataFrame(
        {
            "item_id": ["i1", "i2"],
            "category": "kitchen",
            "quality_score": [0.2, 0.4],
            "reviews": [30, 12],
            "rating_mean": [2.1, 3.0],
            "rated": [28, 10],
            "sentiment_mean": [0.3, 0.5],
            "orders": [300, 120],
            "refund_rate": [0.2, 0.1],
        }
    )
    return {
        "customers": customers,
        "scores": scores,
        "plan": plan,
        "risk": risk,
        "risk_orders": risk_orders,
        "themes": themes,
        "item_quality": item_quality,
    }


def _dashboard(frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The run's aggregates as the pipeline writes them, with the parts that need the
    warehouse (cohorts, flow, drift, model health, read-outs) written out by hand."""
    features = [f"feature_number_{i}" for i in range(14)]
    clusters = {
        "k": 2,
        "silhouette": 0.31,
        "features": features,
        "clusters": [
            {
                "cluster": c,
                "name": f"cluster {c}",
                "size": 6,
                "share": 0.5,
                "top_features": [{"feature": f, "mean_z": 1.2} for f in features[:3]],
                "means": {f: 1234.5678 for f in features},
            }
            for c in range(2)
        ],
    }
    d = frame_aggregates(frames["customers"], frames["scores"], frames["plan"], None, clusters)
    months = list(range(MONTHS))
    d["cohorts"] = {
        "cohorts": [f"{2022 + m // 12}-{1 + m % 12:02d}" for m in months],
        "months": months,
        "sizes": [1234] * MONTHS,
        "shares": [[1.0] + [0.123] * (MONTHS - 1 - m) + [None] * m for m in months],
    }
    stages = ["new", "active", "at_risk", "dormant", "lost", "reactivated", "(not known)"]
    d["flow"] = {
        "from": stages,
        "to": stages[:-1],
        "counts": [[123456] * 6 for _ in stages],
        "max": 123456,
        "moved": 42,
    }
    d["previous_run"], d["previous_as_of"] = "20250201T000000000000Z", "2025-02-01"
    d["drift"] = [
        {"feature": f, "psi": 0.3 if i == 0 else 0.01, "warning": i == 0,
         "mean_before": 12.5, "mean_now": 30.1}
        for i, f in enumerate(features)
    ]  # fmt: skip
    grid = np.linspace(0.05, 0.95, 10)
    d["model"] = {
        "path": "a-rather-long-model-folder-name-" + "x" * 60,
        "plan": {"mode": "boosted", "horizon": 90, "cutoffs": ["2024-09-01", "2024-12-01"]},
        "metrics": {
            "retained": {"roc_auc": 0.81, "pr_auc": 0.6, "brier": 0.15, "n": 1200},
            "orders": {"mae": 1.0, "rmse": 2.0, "spearman": 0.5, "sum_ratio": 1.01},
        },
        "validation": {
            "cutoff": "2024-12-01",
            "label_days": 90,
            "customers": 1200,
            "metrics": {"ece": 0.02},
            "capture": {"top_10": 0.3},
            "calibration": [{"p_mean": float(x), "observed_rate": float(x) * 0.9} for x in grid],
            "lift": [{"fraction": float(x), "capture": float(x**0.5)} for x in grid],
        },
    }
    action = {
        "n_treatment": 1200, "n_control": 300, "conversion_lift": 0.012, "lift": 3.2,
        "ci_low": -1.5, "ci_high": 8.0, "cuped_lift": 3.0, "cuped_ci_low": -1.0,
        "cuped_ci_high": 7.5, "p_value": 0.2, "incremental_revenue": 3940.0,
        "cost": 10000.0, "roi": ROI,
    }  # fmt: skip
    d["readouts"] = [
        {
            "campaign_id": "spring-2025",
            "start": "2025-01-15",
            "contacts": 1500,
            "window_line": "30 days after each contact, all complete",
            "actions": [
                {"action": ACTIONS[0], **action},
                {"action": "all", **action, "roi": 0.25},
            ],
            "notes": [],
        }
    ]
    d["plan"]["stats"] = {"budget": 500.0, "spend": 120.0}
    d.update(run_id=RUN_ID, as_of=AS_OF, notes=[])
    return d


def write_run(path: Path) -> None:
    """A workspace at ``path`` holding one hand-made run of a wide shop (also served by
    tests/serve/test_browser.py, to see that no page scrolls sideways)."""
    run_dir = path / "runs" / RUN_ID
    run_dir.mkdir(parents=True)
    frames = _frames()
    for name, df in frames.items():
        df.to_parquet(run_dir / f"{name}.parquet", index=False)
    (run_dir / "dashboard.json").write_text(json.dumps(_dashboard(frames)), "utf-8")
    topics = [{"words": ["late", "parcel"], "share": 0.4, "reviews": 40, "p_positive_mean": 0.3}]
    (run_dir / "topics.json").write_text(json.dumps(topics), "utf-8")
    stats = {"risk": {"accounts": N, "high": 3, "medium": 3, "flagged_orders": 2}, "plan": {}}
    run = {"run_id": RUN_ID, "as_of": AS_OF, "stats": stats, "outputs": {}}
    (run_dir / "run.json").write_text(json.dumps(run), "utf-8")
    (path / "runs" / "latest.json").write_text(json.dumps({"run_id": RUN_ID}), "utf-8")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A workspace holding one hand-made run and a key: (path, key)."""
    path = tmp_path_factory.mktemp("look") / "ws"
    write_run(path)
    return path, KeyStore(path).create("look")


@pytest.fixture(scope="module")
def client(shop: tuple[Path, str]) -> TestClient:
    app = create_app(shop[0])
    app.state.snapshots = Snapshots(shop[0], check_seconds=0)
    c = TestClient(app)
    c.headers["Authorization"] = f"Bearer {shop[1]}"
    return c


def _page(client: TestClient, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return r.text


def _cells(page: str, table_id: str) -> str:
    m = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', page, re.S)
    assert m, table_id
    return html.unescape(m.group(1))


def _charts(page: str) -> dict[str, dict[str, Any]]:
    m = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert m, "no chart data"
    return {c["id"]: c for c in json.loads(m.group(1))}


# -- a. reasons split between reasons, never inside brackets ---------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (RISK_REASONS, ["many coupons per order", ANOMALY, WIDE, LISTED]),
        ("a; b;c", ["a", "b", "c"]),
        ("甲；乙（丙；丁）", ["甲", "乙（丙；丁）"]),
        ("one (unclosed; still one", ["one (unclosed; still one"]),
        ("stray) close; next", ["stray) close", "next"]),
        ("{x; [y; (z; w)]}; v", ["{x; [y; (z; w)]}", "v"]),
        ("", []),
        (None, []),
        (float("nan"), []),
        (" ; ;", []),
    ],
)
def test_split_reasons_only_at_top_level(text: Any, expected: list[str]) -> None:
    assert split_reasons(text) == expected


def test_api_risk_keeps_a_bracketed_reason_whole(client: TestClient) -> None:
    rows = client.get("/api/risk?limit=1").json()["rows"]
    assert rows[0]["user_id"] == TOP
    assert rows[0]["risk_reasons"] == ["many coupons per order", ANOMALY, WIDE, LISTED]
    p = client.get(f"/api/customers/{TOP}").json()
    assert p["fraud_risk"]["risk_reasons"] == rows[0]["risk_reasons"]


def test_pages_keep_a_bracketed_reason_whole(client: TestClient) -> None:
    spans = lambda block: re.findall(r"<span>([^<]*)</span>", block)  # noqa: E731
    accounts = _cells(_page(client, "/risk"), "risk-accounts")
    assert spans(accounts)[:4] == ["many coupons per order", ANOMALY, WIDE, LISTED]
    orders = _cells(_page(client, "/risk"), "risk-orders")
    assert spans(orders)[:2] == [
        "coupon order refunded",
        "amount ≥ 3× the shop's 99th percentile (p99 120.00; max 990.00)",
    ]
    customer = html.unescape(_page(client, f"/customers/{TOP}"))
    assert f"<li>{ANOMALY}</li>" in customer and f"<li>{WIDE}</li>" in customer
    churn = "no order in 90 days (usual gap 20; longest 35)"
    assert f"<li>{churn}</li>" in customer and "<li>fewer visits</li>" in customer
    at_risk = _cells(_page(client, "/at-risk"), "at-risk")
    assert spans(at_risk)[:2] == [churn, "fewer visits"]


# -- b. ROI as a percentage ------------------------------------------------------------------


def test_roi_is_a_percentage_on_the_campaigns_page(client: TestClient) -> None:
    page = _page(client, "/campaigns")
    table = re.search(r'<table class="data readout-table">(.*?)</table>', page, re.S)
    assert table
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S)
    head = re.findall(r"<th[^>]*>([^<]*)</th>", rows[0])
    col = head.index("ROI")
    roi = [re.findall(r"<td[^>]*>([^<]*)</td>", r)[col] for r in rows[1:]]
    assert roi == [look.percent(ROI, 0), look.percent(0.25, 0)]
    assert roi == ["-6,062%", "25%"]
    assert f"{ROI:.2f}" not in html.unescape(table.group(1))


def test_percent_filter_writes_missing_values_as_a_dash() -> None:
    from jinja2 import Undefined

    from liucun.serve.web.filters import env

    f = env.filters["pct"]
    assert [f(x) for x in (0.5, -12.3456, None, float("nan"), Undefined())] == [
        "50.0%",
        "-1,234.6%",
        "–",
        "–",
        "–",
    ]


# -- c. every table scrolls on its own -------------------------------------------------------


VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "col", "source", "wbr"})


class _Tables(HTMLParser):
    """Each <table> with whether an enclosing element has the class ``scroll``."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.tables: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.tables.append((a.get("id") or a.get("class") or "?", any(self.stack)))
        if tag not in VOID:
            self.stack.append("scroll" in (a.get("class") or "").split())

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()


@pytest.mark.parametrize("path", PAGES)
def test_every_table_is_in_a_scroller(client: TestClient, path: str) -> None:
    parser = _Tables()
    parser.feed(_page(client, path))
    assert parser.tables, path
    outside = [name for name, inside in parser.tables if not inside]
    assert outside == [], (path, outside)


def test_a_scroller_can_shrink_inside_a_grid_column() -> None:
    """A grid column's automatic minimum width is its content's: a wide table in a
    ``.cols`` column would widen the page past any scroller around it."""
    css = look.stylesheet()
    dashboard = css[css.index("/* dashboard */") :]
    assert re.search(r"\.cols\s*>\s*\*\s*\{[^}]*min-width:\s*0", dashboard)


# -- d. model colours ------------------------------------------------------------------------


def test_model_page_charts_use_the_model_colours(client: TestClient) -> None:
    charts = _charts(_page(client, "/model"))
    for name in ("calibration", "lift"):
        c = charts[name]
        assert [s["color"] for s in c["series"]] == [look.model_color("liucun")], name
        assert c["reference_color"] == look.model_color("random"), name


def test_campaign_charts_use_the_model_colours(client: TestClient) -> None:
    charts = _charts(_page(client, "/campaigns"))
    plan = charts["plan"]
    assert plan["datasets"][1]["color"] == look.model_color("uplift")
    assert plan["datasets"][0]["color"] not in {
        look.model_color(n) for n in ("uplift", "plan", "liucun", "random")
    }
    assert charts["readout-0"]["color"] == look.model_color("lift")
