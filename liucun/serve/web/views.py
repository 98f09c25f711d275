"""The data each dashboard page needs, read from the served run (never recomputed per
request: the run's ``dashboard.json`` and per-run shapes made once per snapshot)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from liucun.decide.at_risk import Filters
from liucun.features.timeline import read_timeline
from liucun.outputs import records
from liucun.pipeline.aggregates import frame_aggregates, load_dashboard
from liucun.serve.snapshot import Snapshot, split_reasons
from liucun.serve.web.filters import missing

TIMELINE_ROWS = 100
CSV_BLOCK = 20_000
WORST_ITEMS = 20  # rows of the worst-items table
RISK_ROWS = 50  # rows of the riskiest-accounts and flagged-orders tables
ALERT_ROWS = 50  # rows of the Demand page's stock-out list

CSV_COLUMNS = (
    "user_id",
    "p_churn",
    "value_at_risk",
    "clv_365d",
    "expected_revenue",
    "risk_band",
    "segment",
    "lifecycle_stage",
    "days_since_order",
    "action",
    "expected_uplift",
    "reasons",
)


# -- aggregates per run --------------------------------------------------------------------


def dashboard_data(snap: Snapshot) -> dict[str, Any]:
    """The run's dashboard.json, read once per run; runs made before it existed get the
    aggregates of their frames (computed once), without cohorts, flow, drift or health."""
    return snap.derived("dashboard", lambda: _dashboard_data(snap))


def _dashboard_data(snap: Snapshot) -> dict[str, Any]:
    got = load_dashboard(snap.run_dir)
    if got is None:
        clusters = snap.run_dir / "clusters.json"
        got = frame_aggregates(
            snap.frames.get("customers"),
            snap.frames.get("scores"),
            snap.frames.get("plan"),
            snap.frames.get("segments"),
            json.loads(clusters.read_text("utf-8")) if clusters.exists() else None,
        )
        got["partial"] = True
        stats = (snap.run.get("stats") or {}).get("plan")
        if got.get("plan") is not None and stats:
            got["plan"]["stats"] = stats
    return got


def horizon(dash: dict[str, Any], snap: Snapshot) -> Any:
    """The days a churn probability looks ahead (90 when the run does not say)."""
    plan = ((dash.get("model") or {}).get("plan")) or {}
    return plan.get("horizon") or snap.run.get("stats", {}).get("horizon") or 90


def share(n: Any, dash: dict[str, Any]) -> float | None:
    """``n`` customers as a share of all (None without a count)."""
    total = (dash.get("kpis") or {}).get("customers") or 0
    return round(float(n) / total, 4) if total else None


# -- at-risk -------------------------------------------------------------------------------


def _slice(snap: Snapshot, f: Filters, limit: int, offset: int) -> pd.DataFrame:
    return snap.at_risk(limit, f.segment, f.band, offset, prospects=f.prospects, gone=f.gone)


def at_risk_rows(snap: Snapshot, f: Filters, limit: int, offset: int) -> list[dict[str, Any]]:
    """A page of the at-risk list, each row with its reasons as a list."""
    page = records(_slice(snap, f, limit, offset))
    for r in page:
        r["reasons_list"] = split_reasons(r.get("reasons"))
    return page


def _csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula (=, +, -, @) get a leading quote."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            s = out[c].astype("string")
            risky = s.str.match(r"^[=+\-@\t\r]", na=False)
            out[c] = s.where(~risky, "'" + s)
    return out


def at_risk_csv_chunks(snap: Snapshot, f: Filters, limit: int) -> Iterator[str]:
    """Streamed in blocks: a million rows never sit in memory as one text."""
    for start in range(0, max(limit, 1), CSV_BLOCK):
        n = min(CSV_BLOCK, limit - start)
        rows = _slice(snap, f, n, start)
        rows = rows[[c for c in CSV_COLUMNS if c in rows.columns]]
        buf = io.StringIO()
        _csv_safe(rows).to_csv(buf, index=False, header=start == 0)
        yield buf.getvalue()


# -- one customer --------------------------------------------------------------------------


def customer_message(snap: Snapshot, user_id: str) -> dict[str, Any] | None:
    """The run's message to the customer, if it wrote one."""
    msgs = snap.frames.get("messages")
    if msgs is not None and user_id in msgs.index:
        return records(msgs.loc[[user_id]])[0]
    return None


def timeline(workspace: Path, user_id: str) -> list[dict[str, Any]] | None:
    """The customer's orders, contacts, reviews and events; None while the warehouse is
    held by a writer (a run or an ingest)."""
    df = read_timeline(Path(workspace) / "warehouse.duckdb", user_id, TIMELINE_ROWS)
    return None if df is None else records(df)


# -- reviews -------------------------------------------------------------------------------


def review_data(snap: Snapshot) -> dict[str, Any]:
    """The run's review outputs shaped for the page, once per run: the category × aspect
    grid, negative share per aspect over all categories, the worst items, the topics."""
    return snap.derived("reviews", lambda: _review_data(snap))


def _review_data(snap: Snapshot) -> dict[str, Any]:
    themes = snap.frames.get("themes")
    quality = snap.frames.get("item_quality")
    topics = snap.docs.get("topics") or []
    out: dict[str, Any] = {
        "aspects": [],
        "categories": [],
        "max_negative": 0.0,
        "worst": [],
        "topics": topics,
    }
    if themes is not None and len(themes):
        th = themes.assign(negative=themes["negative_share"].fillna(0) * themes["mentions"])
        by = th.groupby("aspect").agg(mentions=("mentions", "sum"), negative=("negative", "sum"))
        by["negative_share"] = by["negative"] / by["mentions"].where(by["mentions"] > 0)
        by = by.sort_values(["mentions"], ascending=False, kind="stable")
        out["aspects"] = [
            {
                "aspect": str(a),
                "mentions": int(r.mentions),
                "negative_share": _float(r.negative_share),
            }
            for a, r in by.iterrows()
        ]
        cats = th.groupby("group").agg(reviews=("reviews", "max"), keywords=("keywords", "first"))
        cats = cats.sort_values("reviews", ascending=False, kind="stable")
        cells = {(str(r.group), str(r.aspect)): r for r in th.itertuples()}
        out["categories"] = [
            {
                "category": str(g),
                "reviews": int(c.reviews),
                "keywords": str(c.keywords or ""),
                "cells": [
                    None
                    if (g, a["aspect"]) not in cells
                    else {
                        "mentions": int(cells[(g, a["aspect"])].mentions),
                        "negative_share": _float(cells[(g, a["aspect"])].negative_share),
                    }
                    for a in out["aspects"]
                ],
            }
            for g, c in cats.iterrows()
        ]
        shares = [c["negative_share"] for x in out["categories"] for c in x["cells"] if c]
        out["max_negative"] = max([x for x in shares if x is not None], default=0.0)
    if quality is not None and len(quality):
        worst = quality[quality["quality_score"].notna()].head(WORST_ITEMS)
        out["worst"] = records(worst)
    out["empty"] = not (out["aspects"] or out["worst"] or out["topics"])
    return out


def _float(v: Any) -> float | None:
    return None if missing(v) else float(v)


# -- risk ----------------------------------------------------------------------------------


def risk_data(snap: Snapshot) -> dict[str, Any]:
    """The run's risk outputs shaped for the page, once per run: KPIs, rule hits, the
    riskiest accounts (high, then medium band) and the flagged orders."""
    return snap.derived("risk_page", lambda: _risk_data(snap))


def _risk_data(snap: Snapshot) -> dict[str, Any]:
    risk = snap.frames.get("risk")
    if risk is None:
        return {"empty": True}
    stats = dict((snap.run.get("stats") or {}).get("risk") or {})
    plan = (snap.run.get("stats") or {}).get("plan") or {}
    band = risk["risk_band"].astype(str)
    rule_hits = stats.get("rule_hits")
    if rule_hits is None:  # a run.json without the stats: count from the frame
        rule_hits = {
            c[5:]: int(risk[c].fillna(False).astype(bool).sum())
            for c in risk.columns
            if c.startswith("rule_") and c != "rule_score"
        }
    orders = snap.risk_orders(RISK_ROWS)
    n_orders = snap.frames["risk_orders"].shape[0] if orders is not None else None
    kpis = {
        "accounts": stats.get("accounts", len(risk)),
        "high": stats.get("high", int((band == "high").sum())),
        "medium": stats.get("medium", int((band == "medium").sum())),
        "flagged_orders": stats.get("flagged_orders", n_orders),
        "risky_excluded": plan.get("risky_excluded"),
    }
    risky = ("high", "medium")
    accounts = records(snap.risk(RISK_ROWS, risky))
    for a in accounts:
        a["reasons_list"] = split_reasons(a.get("risk_reasons"))
    rows = [] if orders is None else records(orders)
    for o in rows:
        o["reasons_list"] = split_reasons(o.get("reasons"))
    return {
        "empty": False,
        "kpis": kpis,
        "rule_hits": [{"rule": str(k), "accounts": int(v)} for k, v in rule_hits.items()],
        "accounts": accounts,
        "risky_total": snap.risk_count(risky),
        "orders": rows,
        "orders_total": n_orders if n_orders is not None else kpis["flagged_orders"],
        "supervised": stats.get("supervised"),
        "has_supervised": "p_fraud_supervised" in risk.columns,
    }
