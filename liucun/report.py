"""A self-contained HTML summary of a workspace (no external assets: it opens offline)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from liucun.errors import LiucunError
from liucun.evaluate.plots import calibration_svg, lift_svg
from liucun.pipeline.aggregates import frame_aggregates, load_dashboard
from liucun.runs import latest_run
from liucun.serve import i18n
from liucun.serve.snapshot import Snapshot


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


# -- the workspace report (`liucun report --out report.html`) ---------------------------

_CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei',"
    "sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;font-size:14px}"
    "h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "table.heat td,table.heat th{border:1px solid #fff;text-align:center;font-size:12px;"
    "white-space:nowrap}.kpis{display:flex;flex-wrap:wrap;gap:.8em}"
    ".kpi{border:1px solid #ddd;border-radius:6px;padding:.6em .9em;min-width:150px}"
    ".kpi b{display:block;font-size:1.5em}.muted{color:#6b7280}.small{font-size:12px}"
    ".cols{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start}"
)


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _n(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    try:
        return f"{float(v):,.{digits}f}"
    except (TypeError, ValueError):
        return _e(v)


def _p(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    return f"{float(v) * 100:.{digits}f}%"


def _heat_style(v: float | None, top: float, rgb: str = "192,57,43") -> str:
    if v is None:
        return "background:#f4f4f4"
    a = max(0.0, min(1.0, float(v) / top)) if top > 0 else 0.0
    a = 0.06 + 0.84 * a**0.5
    return f"background:rgba({rgb},{a:.2f});color:{'#fff' if a > 0.55 else '#222'}"


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """An HTML table from pre-escaped cells; columns in ``numeric`` right-aligned."""
    numeric = numeric or set()
    head = "".join(
        f"<th{' class=n' if i in numeric else ''}>{h}</th>" for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if i in numeric else ''}>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _bars_svg(labels: list[str], values: list[float], colors: list[str] | None = None) -> str:
    """Horizontal bars as inline SVG (no plotting library, nothing external)."""
    if not values:
        return ""
    width, left, row = 520, 130, 22
    height = row * len(values) + 10
    top = max(max(values), 1e-12)
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="11" role="img">'
    ]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = 5 + i * row
        w = (width - left - 70) * (v / top)
        color = (colors or [])[i] if colors and i < len(colors) else "#2c7fb8"
        parts += [
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{_e(label)}</text>',
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{color}"/>',
            f'<text x="{left + w + 4:.1f}" y="{y + 14}">{_n(v)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def _inline(svg: str) -> str:
    """Inline SVG needs no namespace URL in HTML: the report then holds no URL at all."""
    return svg.replace(' xmlns="http://www.w3.org/2000/svg"', "")


def _cohort_html(t: Any, cohorts: dict[str, Any] | None) -> str:
    if not cohorts or not cohorts.get("cohorts"):
        return f"<p class=muted>{_e(t.not_in_run)}</p>"
    later = [s for row in cohorts["shares"] for s in row[1:] if s is not None]
    top = max(later) if later else 1.0
    head = "".join(f"<th>{_e(t.month)} {m}</th>" for m in cohorts["months"])
    rows = []
    for name, size, shares in zip(
        cohorts["cohorts"], cohorts["sizes"], cohorts["shares"], strict=True
    ):
        cells = "".join(
            "<td></td>"
            if s is None
            else f'<td style="{_heat_style(s, 1.0 if j == 0 else top)}">{_p(s, 0)}</td>'
            for j, s in enumerate(shares)
        )
        rows.append(f"<tr><th>{_e(name)}</th><td class=n>{_n(size)}</td>{cells}</tr>")
    return (
        f'<table class="heat" id="cohort-heatmap"><thead><tr><th>{_e(t.cohort)}</th>'
        f"<th>{_e(t.size)}</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _flow_html(t: Any, v: Any, dash: dict[str, Any]) -> str:
    f = dash.get("flow")
    if not f:
        return f"<p class=muted>{_e(t.flow_none)}</p>"
    head = "".join(f"<th>{_e(v(c))}</th>" for c in f["to"])
    rows = "".join(
        f"<tr><th>{_e(v(r))}</th>"
        + "".join(
            f'<td style="{_heat_style(n, f["max"] or 1, "44,127,184")}">{_n(n)}</td>' for n in row
        )
        + "</tr>"
        for r, row in zip(f["from"], f["counts"], strict=True)
    )
    note = (
        t.flow_help.replace("{prev}", _e(dash.get("previous_run")))
        .replace("{prev_as_of}", _e(dash.get("previous_as_of")))
        .replace("{moved}", _n(f.get("moved")))
    )
    return (
        f"<p class=muted>{note}</p><table class=heat><thead><tr><th>{_e(t.stage_before)}</th>"
        f"{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _model_html(t: Any, v: Any, dash: dict[str, Any]) -> str:

    m = dash.get("model")
    if not m:
        return f"<p class=muted>{_e(t.model_none)}</p>"
    plan = m.get("plan") or {}
    met = m.get("metrics") or {}
    out = [
        f"<p>{_e(t.model_mode)}: {_e(v(plan.get('mode')))} · {_e(t.horizon)}: "
        f"{_e(plan.get('horizon'))} · {_e(t.model_cutoffs)}: "
        f"{_e(', '.join(plan.get('cutoffs') or []))}</p>"
    ]
    rows = [
        [f"retained {k}", _n(x, 0 if k == "n" else 3)]
        for k, x in (met.get("retained") or {}).items()
    ]
    for k in ("orders", "revenue"):
        for name, x in (met.get(k) or {}).items():
            if name != "n":
                rows.append([f"{k} {name}", _n(x, 3)])
    val = m.get("validation") or {}
    if val.get("metrics"):
        rows.append(["p_churn ECE", _n(val["metrics"].get("ece"), 3)])
    rows += [[f"churn {k}", _n(x, 3)] for k, x in (val.get("capture") or {}).items()]
    out.append(_table([_e(t.metric), _e(t.value)], rows, {1}))
    if val.get("calibration"):
        cal = pd.DataFrame(val["calibration"]).dropna(subset=["p_mean", "observed_rate"])
        lift = pd.DataFrame(val.get("lift") or []).dropna(subset=["capture"])
        help_ = (
            t.validation_help.replace("{cut}", _e(val.get("cutoff")))
            .replace("{days}", _e(val.get("label_days")))
            .replace("{n}", _n(val.get("customers")))
        )
        out.append(f"<p class=muted>{help_}</p><div class=cols>")
        out.append(f"<div><h3>{_e(t.calibration_title)}</h3>")
        out.append(_inline(calibration_svg({"p_churn": cal}, title=t.calibration_title)))
        out.append("</div>")
        if not lift.empty:
            out.append(f"<div><h3>{_e(t.lift_title)}</h3>")
            out.append(_inline(lift_svg({"p_churn": lift}, title=t.lift_title)))
            out.append("</div>")
        out.append("</div>")
    return "".join(out)


def _reviews_html(t: Any, run_dir: Path, top: int = 20) -> list[str]:
    """The worst items and the review topics of the run; nothing for a run without them."""
    out: list[str] = []
    path = run_dir / "item_quality.parquet"
    q = pd.read_parquet(path) if path.exists() else None
    if q is not None and len(q):
        q = q[q["quality_score"].notna()].head(top)
        out += [
            f"<h2>{_e(t.worst_items_title)}</h2><p class=muted>{_e(t.worst_items_help)}</p>",
            _table(
                [
                    _e(h)
                    for h in (
                        t.item,
                        t.category,
                        t.quality_score,
                        t.reviews_count,
                        t.rating_mean,
                        t.sentiment_mean,
                        t.orders_total,
                        t.refund_rate,
                    )
                ],
                [
                    [
                        _e(r.get("item_id")),
                        _e(r.get("category")),
                        _n(r.get("quality_score"), 2),
                        _n(r.get("reviews")),
                        f"{_n(r.get('rating_mean'), 2)} ({_n(r.get('rated'))})",
                        _p(r.get("sentiment_mean"), 0),
                        _n(r.get("orders")),
                        _p(r.get("refund_rate")),
                    ]
                    for r in q.to_dict("records")
                ],
                {2, 3, 4, 5, 6, 7},
            ),
        ]
    path = run_dir / "topics.json"
    topics = json.loads(path.read_text("utf-8")) if path.exists() else []
    if topics:
        out += [
            f"<h2>{_e(t.topics_title)}</h2><p class=muted>{_e(t.topics_help)}</p>",
            _table(
                [_e(t.topic_words), _e(t.share), _e(t.reviews_count), _e(t.p_positive_mean)],
                [
                    [
                        _e(" · ".join(map(str, tp.get("words") or []))),
                        _p(tp.get("share")),
                        _n(tp.get("reviews")),
                        _p(tp.get("p_positive_mean"), 0),
                    ]
                    for tp in topics
                ],
                {1, 2, 3},
            ),
        ]
    return out


def _risk_html(t: Any, v: Any, run_dir: Path, run: dict[str, Any], top: int = 20) -> list[str]:
    """Risk KPIs and the riskiest high-band accounts; nothing for a run without risk."""
    path = run_dir / "risk.parquet"
    if not path.exists():
        return []
    r = pd.read_parquet(path, columns=["user_id", "risk_score", "risk_band", "risk_reasons"])
    stats = (run.get("stats") or {}).get("risk") or {}
    plan = (run.get("stats") or {}).get("plan") or {}
    high = r[r["risk_band"] == "high"].sort_values("risk_score", ascending=False, kind="stable")
    kpis = [
        (t.kpi_risk_accounts, _n(stats.get("accounts", len(r)))),
        (t.kpi_risk_high, _n(stats.get("high", len(high)))),
        (t.kpi_risk_medium, _n(stats.get("medium", int((r["risk_band"] == "medium").sum())))),
        (t.kpi_flagged_orders, _n(stats.get("flagged_orders"))),
        (t.kpi_risky_excluded, _n(plan.get("risky_excluded"))),
    ]
    out = [
        f'<h2 id="risk">{_e(t.risk_title)}</h2><p class=muted>{_e(t.risk_help)}</p>',
        "<div class=kpis>"
        + "".join(f"<div class=kpi><b>{val}</b>{_e(label)}</div>" for label, val in kpis)
        + "</div>",
    ]
    if len(high):
        out.append(
            _table(
                [_e(t.customer), _e(t.risk_score), _e(t.band), _e(t.reasons)],
                [
                    [
                        _e(x.user_id),
                        _n(x.risk_score, 3),
                        _e(v(x.risk_band)),
                        _e(x.risk_reasons),
                    ]
                    for x in high.head(top).itertuples()
                ],
                {1},
            )
        )
    return out


def workspace_report(ws: Any, out: str | Path, lang: str = "en") -> Path:
    """One self-contained HTML file of the latest run: KPIs, the cohort heatmap, stages and
    their flow, risk bands, segments and clusters, the top 50 at-risk customers, the plan
    and campaign read-outs, the worst items and review topics, risk control (KPIs and the
    riskiest accounts), model health (calibration and lift as inline SVG) and drift.

    No script, stylesheet, font or image is loaded from anywhere: it opens offline and
    can be mailed or archived as it is. ``lang`` is ``en`` or ``zh``.
    """
    if lang not in i18n.LANGUAGES:
        raise LiucunError(f"--lang {lang}: expected one of {', '.join(i18n.LANGUAGES)}")
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise LiucunError(f"{out}: the report is an .html file")
    run_dir = latest_run(ws)
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    frames: dict[str, pd.DataFrame] = {}
    for name in ("scores", "plan", "customers", "segments"):
        path = run_dir / f"{name}.parquet"
        if path.exists():
            df = pd.read_parquet(path)
            if "user_id" in df.columns:
                df["user_id"] = df["user_id"].astype(str)
                df = df.set_index("user_id", drop=False)
            frames[name] = df
    snap = Snapshot(str(run["run_id"]), str(run["as_of"]), run_dir, run, frames)
    dash = load_dashboard(run_dir)
    if dash is None:
        clusters = run_dir / "clusters.json"
        dash = frame_aggregates(
            frames.get("customers"),
            frames.get("scores"),
            frames.get("plan"),
            frames.get("segments"),
            json.loads(clusters.read_text("utf-8")) if clusters.exists() else None,
        )
    t = i18n.strings(lang)

    def v(x: Any) -> str:
        return i18n.value(lang, x)

    k = dash.get("kpis") or {}
    horizon = ((dash.get("model") or {}).get("plan") or {}).get("horizon") or 90
    kpis = [
        (t.kpi_customers, _n(k.get("customers"))),
        (t.kpi_active, _n(k.get("active_customers"))),
        (t.kpi_churn, _p(k.get("churn_rate"))),
        (t.kpi_at_risk, _n(k.get("revenue_at_risk"))),
        (t.kpi_high, _n(k.get("high_risk"))),
        (t.kpi_expected, _n(k.get("expected_revenue"))),
    ]
    if "planned" in k:
        kpis.append((t.kpi_plan, _n(k.get("planned"))))
    body = [
        f"<h1>{_e(t.app)} · {_e(t.overview_title)}</h1>",
        f"<p class=muted>{_e(t.run)} {_e(snap.run_id)} · {_e(t.as_of)} {_e(snap.as_of)}</p>",
        "<div class=kpis>"
        + "".join(f"<div class=kpi><b>{val}</b>{_e(label)}</div>" for label, val in kpis)
        + "</div>",
        f"<p class=small>{_e(t.kpi_churn)}: {_e(t.kpi_churn_help.replace('{h}', str(horizon)))}"
        f" · {_e(t.kpi_at_risk)}: {_e(t.kpi_at_risk_help)}</p>",
        f"<h2>{_e(t.cohorts_title)}</h2><p class=muted>{_e(t.cohorts_help)}</p>",
        _cohort_html(t, dash.get("cohorts")),
    ]
    stages = dash.get("stages") or []
    bands = dash.get("bands") or []
    colours = {"high": "#c0392b", "medium": "#e67e22", "low": "#27ae60"}
    body += [
        "<div class=cols><div>",
        f"<h2>{_e(t.stages_title)}</h2>",
        _bars_svg([v(s["stage"]) for s in stages], [s["customers"] for s in stages]),
        "</div><div>",
        f"<h2>{_e(t.bands_title)}</h2>",
        _bars_svg(
            [v(b["band"]) for b in bands],
            [b["customers"] for b in bands],
            [colours.get(b["band"], "#888") for b in bands],
        ),
        _table(
            [_e(t.band), _e(t.customers), _e(t.value_at_risk)],
            [[_e(v(b["band"])), _n(b["customers"]), _n(b["value_at_risk"])] for b in bands],
            {1, 2},
        ),
        "</div></div>",
        f"<h2>{_e(t.flow_title)}</h2>",
        _flow_html(t, v, dash),
        f"<h2>{_e(t.named_segments)}</h2>",
        _table(
            [
                _e(t.segment),
                _e(t.customers),
                _e(t.revenue_share),
                _e(t.avg_recency),
                _e(t.avg_orders),
                _e(t.avg_revenue),
                _e(t.mean_p_churn),
                _e(t.value_at_risk),
                _e(t.suggested_play),
            ],
            [
                [
                    _e(s.get("segment")),
                    _n(s.get("customers")),
                    _p(s.get("revenue_share")),
                    _n(s.get("avg_recency_days"), 1),
                    _n(s.get("avg_orders"), 2),
                    _n(s.get("avg_revenue"), 2),
                    _n(s.get("mean_p_churn"), 2),
                    _n(s.get("value_at_risk")),
                    _e(s.get("suggested_play")),
                ]
                for s in dash.get("segments") or []
            ],
            {1, 2, 3, 4, 5, 6, 7},
        ),
    ]
    grid = dash.get("rfm_grid")
    if grid:
        head = "".join(f"<th>F{f}</th>" for f in grid["f"])
        rows = "".join(
            f"<tr><th>R{r}</th>"
            + "".join(
                f'<td style="{_heat_style(n, grid["max"] or 1, "44,127,184")}">{_n(n)}</td>'
                for n in counts
            )
            + "</tr>"
            for r, counts in zip(grid["r"], grid["counts"], strict=True)
        )
        body.append(
            f"<h2>{_e(t.rfm_title)}</h2><p class=muted>{_e(t.rfm_help)}</p>"
            f"<table class=heat><thead><tr><th></th>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    cl = dash.get("clusters")
    if cl:
        body += [
            f"<h2>{_e(t.clusters_title)}</h2>",
            _table(
                [_e(t.cluster), _e(t.customers), _e(t.share), _e(t.top_features)],
                [
                    [
                        _e(c.get("name")),
                        _n(c.get("size")),
                        _p(c.get("share")),
                        _e(
                            ", ".join(
                                f"{f['feature']} {f['mean_z']:+.1f}"
                                for f in c.get("top_features") or []
                                if f.get("mean_z") is not None
                            )
                        ),
                    ]
                    for c in cl["clusters"]
                ],
                {1, 2},
            ),
        ]
    if snap.has("scores"):
        top = snap.at_risk(limit=50)
        body += [
            f"<h2>{_e(t.at_risk_title)} (top 50)</h2><p class=muted>{_e(t.at_risk_help)}</p>",
            _table(
                [
                    _e(t.customer),
                    _e(t.p_churn),
                    _e(t.value_at_risk),
                    _e(t.band),
                    _e(t.segment),
                    _e(t.reasons),
                    _e(t.recommended_action),
                ],
                [
                    [
                        _e(r.get("user_id")),
                        _n(r.get("p_churn"), 3),
                        _n(r.get("value_at_risk"), 2),
                        _e(v(r.get("risk_band"))),
                        _e(r.get("segment")),
                        _e(r.get("reasons")),
                        _e(v(r.get("action"))) if isinstance(r.get("action"), str) else "–",
                    ]
                    for r in top.to_dict("records")
                ],
                {1, 2},
            ),
        ]
    plan = dash.get("plan")
    body.append(f"<h2>{_e(t.plan_title)}</h2>")
    if plan:
        body.append(
            _table(
                [_e(t.action), _e(t.customers), _e(t.cost), _e(t.expected_uplift), _e(t.net)],
                [
                    [
                        _e(v(r["action"])),
                        _n(r.get("customers")),
                        _n(r.get("cost"), 2),
                        _n(r.get("expected_uplift"), 2),
                        _n(r.get("net"), 2),
                    ]
                    for r in plan.get("by_action") or []
                ],
                {1, 2, 3, 4},
            )
        )
    else:
        body.append(f"<p class=muted>{_e(t.plan_none)}</p>")
    readouts = dash.get("readouts") or []
    if readouts:
        body.append(f"<h2>{_e(t.readouts_title)}</h2><p class=muted>{_e(t.readouts_help)}</p>")
        for r in readouts:
            body.append(f"<h3>{_e(r.get('campaign_id'))}</h3>")
            if r.get("error"):
                body.append(f"<p class=muted>{_e(r['error'])}</p>")
                continue
            body.append(f"<p class=muted>{_e(r.get('window_line'))}</p>")
            body.append(
                _table(
                    [
                        _e(t.action),
                        _e(t.n_treatment),
                        _e(t.n_control),
                        _e(t.lift),
                        _e(t.interval),
                        _e(t.p_value),
                        _e(t.incremental_revenue),
                        _e(t.roi),
                    ],
                    [
                        [
                            _e(t.total if a["action"] == "all" else v(a["action"])),
                            _n(a.get("n_treatment")),
                            _n(a.get("n_control")),
                            _n(a.get("lift"), 2),
                            f"[{_n(a.get('ci_low'), 2)}, {_n(a.get('ci_high'), 2)}]",
                            _n(a.get("p_value"), 3),
                            _n(a.get("incremental_revenue"), 2),
                            _n(a.get("roi"), 2),
                        ]
                        for a in r.get("actions") or []
                    ],
                    {1, 2, 3, 4, 5, 6, 7},
                )
            )
    body += _reviews_html(t, run_dir)
    body += _risk_html(t, v, run_dir, run)
    body += [f"<h2>{_e(t.model_title)}</h2>", _model_html(t, v, dash)]
    drift = dash.get("drift") or []
    body.append(f"<h2>{_e(t.drift_title)}</h2><p class=muted>{_e(t.drift_help)}</p>")
    if drift:
        body.append(
            _table(
                [_e(t.feature), "PSI", _e(t.mean_before), _e(t.mean_now)],
                [
                    [
                        _e(d["feature"]) + (" ⚠" if d.get("warning") else ""),
                        _n(d.get("psi"), 3),
                        _n(d.get("mean_before"), 2),
                        _n(d.get("mean_now"), 2),
                    ]
                    for d in drift
                ],
                {1, 2, 3},
            )
        )
    else:
        body.append(f"<p class=muted>{_e(t.drift_none)}</p>")
    title = f"{t.app} · {t.run} {snap.run_id} · {t.as_of} {snap.as_of}"
    doc = (
        f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{_e(title)}</title><style>{_CSS}</style></head>'
        f"<body>{''.join(body)}</body></html>"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(doc, encoding="utf-8")
    return out
