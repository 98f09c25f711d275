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
) -> Path:
    """Write the report; ``summary`` is ``Warehouse.summary()``, ``daily_orders`` by day."""
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v:,}</td></tr>" for k, v in summary["tables"].items()
    )
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:760px;margin:2em auto;color:#222}}
td{{padding:2px 12px}} .k{{font-size:1.4em;font-weight:600}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p><span class="k">{summary["customers"]:,}</span> customers ·
<span class="k">{summary["tables"]["orders"]:,}</span> orders ·
<span class="k">{summary["revenue"]:,.2f}</span> revenue ·
from {summary["first_order"]} to {summary["last_order"]}</p>
<h2>Daily orders</h2>{_sparkline([float(v) for v in daily_orders.tolist()])}
<h2>Warehouse tables</h2><table>{rows}
<tr><td>quarantine</td><td>{summary["quarantined"]:,}</td></tr></table>
<h2>Notes</h2><ul>{items}</ul></body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, encoding="utf-8")
    return path
