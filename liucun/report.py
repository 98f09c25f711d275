"""A self-contained HTML summary of a workspace (no external assets: it opens offline)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd


def _sparkline(values: list[float], width: int = 640, height: int = 120) -> str:
    """An inline SVG line chart: daily orders need no plotting library."""
    if not values:
        return "<p>no orders</p>"
    top = max(values) or 1.0
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 4 - (v / top) * (height - 8):.1f}" for i, v in enumerate(values)
    )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="daily orders"><polyline fill="none" stroke="#c0392b" '
        f'stroke-width="1.5" points="{points}"/></svg>'
    )


def summary_report(
    path: Path,
    title: str,
    summary: dict[str, Any],
    daily_orders: pd.Series,
    notes: list[str],
    sections: dict[str, str] | None = None,
) -> Path:
    """Write the report; ``summary`` is ``Warehouse.summary()``, ``daily_orders`` by day.

    ``sections`` maps a heading to an HTML fragment the caller built (escaped there).
    """
    extra = "".join(f"<h2>{html.escape(h)}</h2>{body}" for h, body in (sections or {}).items())
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v:,}</td></tr>" for k, v in summary["tables"].items()
    )
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:760px;margin:2em auto;color:#222}}
td,th{{padding:2px 12px;text-align:left}} .k{{font-size:1.4em;font-weight:600}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p><span class="k">{summary["customers"]:,}</span> customers ·
<span class="k">{summary["tables"]["orders"]:,}</span> orders ·
<span class="k">{summary["revenue"]:,.2f}</span> revenue ·
from {summary["first_order"]} to {summary["last_order"]}</p>
<h2>Daily orders</h2>{_sparkline([float(v) for v in daily_orders.tolist()])}
<h2>Warehouse tables</h2><table>{rows}
<tr><td>quarantine</td><td>{summary["quarantined"]:,}</td></tr></table>
{extra}<h2>Notes</h2><ul>{items}</ul></body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, encoding="utf-8")
    return path


def backtest_report(result: dict[str, Any], path: str | Path) -> Path:
    """The backtest as JSON (tables as records) or self-contained HTML with its plots."""
    import json

    from liucun.evaluate.plots import calibration_svg, lift_svg

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
        from liucun.errors import LiucunError

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


def churn_section(scores: pd.DataFrame, truth_note: str = "", top: int = 10) -> str:
    """Risk bands and the most valuable high-risk customers with their reasons."""
    bands = scores["risk_band"].value_counts()
    counts = " · ".join(f"{b}: {int(bands.get(b, 0)):,}" for b in ("high", "medium", "low"))
    high = scores[scores["risk_band"] == "high"].sort_values("clv_365d", ascending=False)
    rows = "".join(
        "<tr>"
        f"<td>{html.escape(str(r.user_id))}</td><td>{r.p_churn:.2f}</td>"
        f"<td>{r.clv_365d:,.2f}</td><td>{html.escape(str(r.segment))}</td>"
        f"<td>{html.escape(str(r.reasons))}</td></tr>"
        for r in high.head(top).itertuples()
    )
    note = f"<p>{html.escape(truth_note)}</p>" if truth_note else ""
    return (
        f"<p>risk bands — {counts}</p>{note}"
        "<table><tr><th>customer</th><th>p_churn</th><th>CLV 365d</th><th>segment</th>"
        f"<th>reasons</th></tr>{rows}</table>"
    )
