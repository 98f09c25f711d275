"""The backtest pages: ``liucun backtest --out`` and ``liucun backtest uplift --out``.

Each is one self-contained HTML file (or JSON) in the shared look of ``liucun.look``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from liucun.backtests.uplift import UpliftBacktest
from liucun.errors import LiucunError
from liucun.evaluate.plots import calibration_svg, lift_svg
from liucun.evaluate.uplift import qini_svg

__all__ = ["backtest_report", "uplift_report"]


def backtest_report(result: dict[str, Any], path: str | Path) -> Path:
    """The backtest as JSON (tables as records) or self-contained HTML with its plots."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        doc = {
            "horizon_days": result["horizon_days"],
            "cutoffs": result["cutoffs"],
            "summary": result["summary"].to_dict("records"),
            "per_cutoff": result["per_cutoff"].to_dict("records"),
            "calibration": {k: v.to_dict("records") for k, v in result["calibration"].items()},
            "notes": result["notes"],
        }
        path.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
        return path
    if path.suffix.lower() not in (".html", ".htm"):
        raise LiucunError(f"{path}: the backtest report is .html or .json")
    title = f"Backtest, horizon {result['horizon_days']} days"
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result["notes"])
    body = (
        f"<h1>{html.escape(title)}</h1>"
        f"<p>cutoffs: {html.escape(', '.join(result['cutoffs']))}</p>"
        "<h2>Mean over cutoffs</h2>"
        + result["summary"].to_html(index=False, float_format=lambda v: f"{v:.3f}")
        + "<h2>Calibration of p_churn (last cutoff)</h2>"
        + calibration_svg(result["calibration"])
        + "<h2>Churners captured by p_churn rank (last cutoff)</h2>"
        + lift_svg(result["lift"])
        + "<h2>Per cutoff</h2>"
        + result["per_cutoff"].to_html(index=False, float_format=lambda v: f"{v:.3f}")
        + (f"<ul>{notes}</ul>" if notes else "")
    )
    path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style></head>"
        f"<body>{body}</body></html>",
        encoding="utf-8",
    )
    return path


def uplift_report(bt: UpliftBacktest, path: str | Path) -> Path:
    """The backtest as self-contained HTML (tables and a Qini plot per action and
    outcome), or as JSON when ``path`` ends in ``.json``."""

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".json"):
        raise LiucunError(f"{path}: the uplift backtest report is .html or .json")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        doc = {
            "as_of": bt.as_of.isoformat(),
            "horizon_days": bt.horizon,
            "window_days": bt.window_days,
            "first_test_day": bt.first_test_day.isoformat(),
            "train_campaigns": bt.train_campaigns,
            "test_campaigns": bt.test_campaigns,
            "train_contacts": bt.train_contacts,
            "test_contacts": bt.test_contacts,
            "outcome": bt.outcome,
            "table": bt.table.to_dict("records"),
            "deciles": bt.deciles.to_dict("records"),
            "notes": bt.notes,
        }
        path.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
        return path
    e = html.escape

    def frame(df: pd.DataFrame) -> str:
        return df.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="-")

    title = f"Uplift backtest, horizon {bt.horizon} days"
    outcomes = "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in bt.outcome.items())
    plots = "".join(
        f"<h3>{e(action)} · {e(out)}</h3>" + qini_svg(models, title=f"Qini curve, {action}, {out}")
        for (action, out), models in bt.curves.items()
    )
    notes = "".join(f"<li>{e(n)}</li>" for n in bt.notes)
    body = (
        f"<h1>{e(title)}</h1>"
        f"<p>as of {bt.as_of} · trained on {bt.train_contacts:,} contacts of "
        f"{e(', '.join(bt.train_campaigns))} (outcome windows ending by {bt.first_test_day}) · "
        f"held out {bt.test_contacts:,} contacts of {e(', '.join(bt.test_campaigns))}</p>"
        f"<p>Outcomes:</p><ul>{outcomes}</ul>"
        "<p>Per action: that action's held-out contacts and all held-out control contacts, "
        "ranked by the model's predicted uplift of the action.</p>"
        "<h2>Qini and AUUC</h2>"
        + frame(bt.table)
        + "<h2>Qini curves</h2>"
        + plots
        + "<h2>Observed uplift by predicted-uplift decile</h2>"
        + frame(bt.deciles)
        + (f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "")
    )
    path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style></head>"
        f"<body>{body}</body></html>",
        encoding="utf-8",
    )
    return path
