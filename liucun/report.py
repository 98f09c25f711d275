"""A self-contained HTML summary of a workspace (no external assets: it opens offline).

Both reports are pages in the shared look (``liucun.look``): the dashboard's stylesheet,
one colour per model, counts, money and dates written as everywhere else, and charts with
axes a reader can read values off.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from liucun import look
from liucun.decide import at_risk
from liucun.errors import LiucunError
from liucun.evaluate.plots import calibration_svg
from liucun.pipeline.aggregates import frame_aggregates, load_dashboard
from liucun.runs import latest_run
from liucun.serve import demand, i18n
from liucun.serve.snapshot import Snapshot

# An item is listed among the lowest quality ones only with this much evidence: a score
# made of the category's mean alone says nothing about the item.
MIN_REVIEWS, MIN_ORDERS = 1, 5
NS = ' xmlns="http://www.w3.org/2000/svg"'

# Report-only wording, (English, Chinese); the dashboard's strings live in liucun.serve.i18n.
_WORDS: dict[str, tuple[str, str]] = {
    "orders_one": ("1 order", "1 单"),
    "orders_n": ("{n} orders", "{n} 单"),
    "orders_range": ("{lo}–{hi} orders", "{lo}–{hi} 单"),
    "days_ago": ("{lo}–{hi} days ago", "{lo}–{hi} 天前"),
    "rfm_columns": (
        "Columns are the frequency scores buyers hold, named by their order counts: buyers "
        "with equal counts share a score, so a score no one holds is left out.",
        "列为买家实际持有的频次得分，并标出其下单数：下单数相同的买家得分相同，无人持有的得分不显示。",
    ),
    "evidence": (
        "Items with at least {reviews} review or {orders} orders; {n} with less are left out.",
        "仅列出至少有 {reviews} 条评价或 {orders} 笔订单的商品；{n} 个证据更少的未列出。",
    ),
    "bands_title": ("Churn by p_churn band", "按 p_churn 分档的流失率"),
    "band": ("Band", "档位"),
    "customers": ("Customers", "客户数"),
    "mean_p": ("Mean p_churn", "平均 p_churn"),
    "churned": ("Churned", "流失率"),
    "lift": ("Lift vs base", "相对基准提升"),
    "stayed": ("Stayed", "留存率"),
    "stay_lift": ("Stay lift", "留存提升"),
    "base": ("base {rate}", "基准 {rate}"),
    "bands_axis": ("p_churn band (1 = lowest)", "p_churn 档位（1 = 最低）"),
    "high_base": (
        "{base} of the {n} customers churned within {days} days of {cut}, so no ranking can "
        "lift a band's churn rate above 1 / {base} = {cap}: the top band's {top[lift]} says "
        "little. The model separates at the low end: the lowest band churned at {low[rate]} "
        "({low[lift]}) and stayed {stay} as often as the average customer.",
        "{n} 位客户中 {base} 在 {cut} 之后 {days} 天内流失，任何排序都无法让某档流失率超过基准的 "
        "1 / {base} = {cap}，最高档的 {top[lift]} 说明不了什么。模型的区分力在低端：最低档流失率"
        "为 {low[rate]}（{low[lift]}），留存率是平均客户的 {stay}。",
    ),
    "low_base": (
        "{base} of the {n} customers churned within {days} days of {cut}. The highest band "
        "churned at {top[rate]}, {top[lift]} the base rate; the lowest at {low[rate]} "
        "({low[lift]}).",
        "{n} 位客户中 {base} 在 {cut} 之后 {days} 天内流失。最高档流失率为 {top[rate]}，"
        "是基准的 {top[lift]}；最低档为 {low[rate]}（{low[lift]}）。",
    ),
}


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _n(v: Any, digits: int = 0) -> str:
    """A plain number with thousands separators (a score, a mean); "–" when missing."""
    return look.money(v, digits)


def _x(v: Any) -> str:
    """A ratio to a base rate: ``1.22×``."""
    return "–" if v is None or v != v else f"{float(v):.2f}×"


def _day(v: Any) -> str:
    """A timestamp as a plain date (``2024-03-05``), never ISO with a T and seconds."""
    try:
        return pd.Timestamp(v).date().isoformat() if v is not None else "–"
    except (TypeError, ValueError):
        return _e(v)


# -- charts: inline SVG with axes (no plotting library, nothing external) ----------------


def _ticks(top: float, n: int = 5) -> list[float]:
    """Whole tick values from 0 to at least ``top`` in steps of 1, 2 or 5 × 10^k."""
    mag = 10 ** math.floor(math.log10(max(top / n, 1.0)))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag * n >= top)
    return [i * step for i in range(max(1, math.ceil(top / step)) + 1)]


def _plot(
    size: tuple[int, int], label: str, box: tuple[float, ...], ticks: Any, marks: list[str]
) -> str:
    """An SVG chart: grid, ``marks``, then axes round ``box`` (x0, y0, x1, y1) with tick
    labels and titles; ``ticks`` is (y ticks, x ticks, x title, y title), ticks (px, text)."""
    (x0, y0, x1, y1), (yt, xt, xtitle, ytitle), mid = box, ticks, (box[1] + box[3]) / 2
    return "".join(
        [
            f'<svg class="plot" width="{size[0]}" height="{size[1]}" role="img" '
            f'viewBox="0 0 {size[0]} {size[1]}" aria-label="{_e(label)}"><title>{_e(label)}'
            '</title><g class="grid">',
            *(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}"/>' for y, _ in yt),
            f'</g>{"".join(marks)}<g class="axis"><path d="M{x0},{y0}V{y1}H{x1}" fill="none"/>',
            *(
                f'<text class="tick" x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{_e(s)}</text>'
                for y, s in yt
            ),
            *(
                f'<line x1="{x:.1f}" y1="{y1}" x2="{x:.1f}" y2="{y1 + 4}"/><text class="tick" '
                f'x="{x:.1f}" y="{y1 + 17}" text-anchor="middle">{_e(s)}</text>'
                for x, s in xt
            ),
            f'<text class="title" x="{(x0 + x1) / 2:.1f}" y="{y1 + 36}" text-anchor="middle">'
            f'{_e(xtitle)}</text><text class="title" x="14" y="{mid:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 14 {mid:.1f})">{_e(ytitle)}</text></g></svg>',
        ]
    )


def _dated(daily: pd.Series, first: Any) -> pd.Series:
    """Daily counts on a date index with empty days as 0. A series without dates is read
    as consecutive days from ``first`` (the first order)."""
    s = pd.Series(daily, dtype="float64").dropna()
    dated = s.index.dtype.kind in "OM"
    start = pd.Timestamp(first or "2000-01-01")
    idx = pd.to_datetime(s.index) if dated else pd.date_range(start, periods=len(s), freq="D")
    s.index = pd.DatetimeIndex(idx).tz_localize(None).normalize()
    s = s.groupby(level=0).sum()
    return s.reindex(pd.date_range(s.index.min(), s.index.max(), freq="D"), fill_value=0.0)


def orders_svg(daily: pd.Series, first: Any = None) -> str:
    """Orders per day and their 7-day mean: months (``2024-03``) or, over less than two
    months, weeks (``5 Mar``) on the x axis, counts on the y axis."""
    s = _dated(daily, first) if len(daily) else pd.Series(dtype="float64")
    if s.empty:
        return "<p class=muted>no orders</p>"
    (x0, y0, x1, y1), ys = (56.0, 14.0, 1060.0, 240.0), _ticks(float(s.max()))
    start, span = s.index[0], max((s.index[-1] - s.index[0]).days, 1)
    if span < 62:
        xs = [(d, f"{d.day} {d:%b}") for d in pd.date_range(start, s.index[-1], freq="7D")]
    else:
        months = pd.date_range(start, s.index[-1], freq="MS")
        xs = [(d, f"{d:%Y-%m}") for d in months[:: max(1, math.ceil(len(months) / 12))]]

    def px(d: pd.Timestamp) -> float:
        return x0 + (d - start).days / span * (x1 - x0)

    def py(v: float) -> float:
        return y1 - v / ys[-1] * (y1 - y0)

    c, marks = look.model_color("liucun"), []
    for vals, style in ((s, 'opacity=".35"'), (s.rolling(7, 1).mean(), 'stroke-width="2"')):
        pts = " ".join(f"{px(d):.1f},{py(v):.1f}" for d, v in vals.items())
        marks.append(f'<polyline fill="none" stroke="{c}" {style} points="{pts}"/>')
    marks.append(
        f'<g class="legend"><line x1="860" y1="8" x2="880" y2="8" stroke="{c}" opacity=".35"/>'
        f'<text x="885" y="12">daily</text><line x1="940" y1="8" x2="960" y2="8" stroke="{c}" '
        'stroke-width="2"/><text x="965" y="12">7-day mean</text></g>'
    )
    ticks = ([(py(v), look.count(v)) for v in ys], [(px(d), t) for d, t in xs], "day", "orders")
    return _plot((1080, 290), "daily orders", (x0, y0, x1, y1), ticks, marks)


def _columns_svg(label: str, items: list[tuple[str, float]], titles: Any, **kw: Any) -> str:
    """Columns (name, value), each with its value above it, on a counted y axis; ``share``
    for rates (a 0–100% axis), ``colors`` per column, ``base=(value, text)`` a dashed line;
    ``titles`` are the x and y axis titles."""
    names, values = [n for n, _ in items], [float(v) for _, v in items]
    (x0, y0, x1, y1), share = (56.0, 18.0, 540.0, 226.0), kw.get("share", False)
    ys = [i / 5 for i in range(6)] if share else _ticks(max(values, default=0.0))
    fmt = (lambda v: look.percent(v, 0)) if share else look.count
    slot = (x1 - x0) / max(len(values), 1)

    def py(v: float) -> float:
        return y1 - v / ys[-1] * (y1 - y0)

    colors = kw.get("colors") or [kw.get("color", "#2c7fb8")] * len(values)
    marks = [
        f'<rect x="{x0 + (i + 0.15) * slot:.1f}" y="{py(v):.1f}" width="{slot * 0.7:.1f}" '
        f'height="{y1 - py(v):.1f}" fill="{colors[i]}"/><text x="{x0 + (i + 0.5) * slot:.1f}" '
        f'y="{py(v) - 4:.1f}" text-anchor="middle">{fmt(v)}</text>'
        for i, v in enumerate(values)
    ]
    if kw.get("base"):
        (_, text), y = kw["base"], py(kw["base"][0])
        marks.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#374151" '
            f'stroke-dasharray="5 4"/><text x="{x0 + 6}" y="{y - 5:.1f}" class="base">'
            f"{_e(text)}</text>"
        )
    xt = [(x0 + (i + 0.5) * slot, n) for i, n in enumerate(names)]
    ticks = ([(py(v), fmt(v)) for v in ys], xt, *titles)
    return _plot((560, 280), label, (x0, y0, x1, y1), ticks, marks)


# -- the demo's summary report --------------------------------------------------------------


def summary_report(
    path: Path,
    title: str,
    summary: dict[str, Any],
    daily_orders: pd.Series,
    notes: list[str],
    sections: dict[str, str] | None = None,
) -> Path:
    """Write the report; ``summary`` is ``Warehouse.summary()``, ``daily_orders`` the orders
    per day (on a date index; without one, consecutive days from the first order).

    ``sections`` maps a heading to an HTML fragment the caller built (escaped there).
    """
    extra = "".join(f"<h2>{_e(h)}</h2>{body}" for h, body in (sections or {}).items())
    tables = {**summary["tables"], "quarantine": summary["quarantined"]}
    kpis = [
        ("customers", look.count(summary["customers"])),
        ("orders", look.count(summary["tables"]["orders"])),
        ("revenue (paid)", look.money(summary["revenue"])),
        ("first order", _day(summary["first_order"])),
        ("last order", _day(summary["last_order"])),
    ]
    body = (
        f"<h1>{_e(title)}</h1>{_kpis(kpis)}"
        f"<h2>Daily orders</h2>{orders_svg(daily_orders, summary.get('first_order'))}"
        "<h2>Warehouse tables</h2>"
        + _table(["table", "rows"], [[_e(k), look.count(v)] for k, v in tables.items()])
        + f"{extra}<h2>Notes</h2><ul>{''.join(f'<li>{_e(n)}</li>' for n in notes)}</ul>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(look.page(title, f'<div class="report">{body}</div>'), encoding="utf-8")
    return path


def churn_section(scores: pd.DataFrame, truth_note: str = "", top: int = 10) -> str:
    """Risk bands and the high-risk customers to act on first (liucun.decide.at_risk)."""
    bands = scores["risk_band"].value_counts()
    counts = " · ".join(f"{b}: {look.count(bands.get(b, 0))}" for b in ("high", "medium", "low"))
    high = scores.iloc[at_risk.order(scores, None, at_risk.Filters(band="high"))]
    spec = "customer/user_id p_churn:f2 clv/clv_365d:money2 segment reasons"
    note = f"<p>{_e(truth_note)}</p>" if truth_note else ""
    table = _grid({"clv": "CLV 365d"}, spec, high.head(top).to_dict("records"))
    return f"<p>risk bands — {counts}</p>{note}{table}"


# -- the workspace report (`liucun report --out report.html`) ---------------------------


def _heat_style(v: float, top: float, rgb: str = "192,57,43") -> str:
    a = max(0.0, min(1.0, float(v) / top)) if top > 0 else 0.0
    a = 0.06 + 0.84 * a**0.5
    return f"background:rgba({rgb},{a:.2f});color:{'#fff' if a > 0.55 else '#222'}"


_NUMBER = re.compile(r"^[-−+]?[\d,]*\.?\d+(%|×|k|M|B)?$|^\[.*\]$")


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """A data table from pre-escaped cells, in a box that scrolls rather than widening the
    page; columns in ``numeric`` (by default: those holding only numbers) right-aligned."""
    if numeric is None:
        cells = [[c for c in col if c != "–"] for col in zip(*rows, strict=True)]
        numeric = {i for i, col in enumerate(cells) if col and all(map(_NUMBER.match, col))}

    def row(cells: list[str], tag: str = "td") -> str:
        tds = (f"<{tag}{' class=n' * (i in numeric)}>{c}</{tag}>" for i, c in enumerate(cells))
        return f"<tr>{''.join(tds)}</tr>"

    return (
        f'<div class="scroll"><table class="data"><thead>{row(headers, "th")}</thead>'
        f"<tbody>{''.join(map(row, rows))}</tbody></table></div>"
    )


Fmt = Callable[[Any], str]


FORMATS: dict[str, Fmt] = {
    "text": _e,
    "raw": str,
    "count": look.count,
    "money": look.money,
    "money2": lambda x: look.money(x, 2),
    "pct": look.percent,
    "pct0": lambda x: look.percent(x, 0),
    "x": _x,
    **{f"f{d}": (lambda x, d=d: _n(x, d)) for d in (1, 2, 3)},
}


# Table columns as ``heading[/key][:format]`` (see _grid).
_SEGMENTS = (
    "segment customers:count revenue_share:pct avg_recency/avg_recency_days:f1 avg_orders:f2 "
    "avg_revenue:money2 mean_p_churn:f2 value_at_risk:money suggested_play"
)
_AT_RISK = (
    "customer/user_id p_churn:f3 value_at_risk:money2 band/risk_band:v segment "
    "recency_days/days_since_order:count reasons recommended_action/action:v "
    "expected_uplift:money2"
)
_PLAN = "action:v customers:count cost:money2 expected_uplift:money2 net:money2"
# ROI is a ratio, written as a percentage as on the CLI.
_READOUT = (
    "action:v n_treatment:count n_control:count lift:money2 interval/ci:raw p_value:f3 "
    "incremental_revenue:money2 roi:pct"
)
_ITEMS = (
    "item/item_id category quality_score:f2 reviews_count/reviews:count rating_mean/rating:raw "
    "sentiment_mean:pct0 orders_total/orders:count refund_rate:pct"
)
_TOPICS = "topic_words/words:list share:pct reviews_count/reviews:count p_positive_mean:pct0"
_RISKY = "customer/user_id risk_score:f3 band/risk_band:v reasons/risk_reasons"
_BANDS = "band:raw customers/count:count mean_p/p_mean:f3 churned/observed_rate:pct lift:x "
_BANDS += "stayed:pct stay_lift/stay:x"


def _grid(words: Any, spec: str, records: Sequence[dict[str, Any]], **fmts: Fmt) -> str:
    """A data table over ``records`` from ``heading[/key][:format]`` words: the heading is
    looked up in ``words`` (i18n strings or a dict), the key is the heading's unless named,
    the format is text unless named (FORMATS or ``fmts``)."""
    cols = []
    for part in spec.split():
        name, _, fmt = part.partition(":")
        head, _, key = name.partition("/")
        head = words.get(head, head) if isinstance(words, dict) else getattr(words, head, head)
        cols.append((head, key or name, {**FORMATS, **fmts}[fmt or "text"]))
    rows = [[fmt(r.get(key)) for _, key, fmt in cols] for r in records]
    return _table([_e(h) for h, _, _ in cols], rows)


def _kpis(items: list[tuple[str, str]]) -> str:
    """KPI tiles (value over label), as on the dashboard."""
    tile = '<div class="kpi"><div class="k">{}</div><div class="l">{}</div></div>'
    return f'<div class="kpis">{"".join(tile.format(v, _e(k)) for k, v in items)}</div>'


def _heat(table_id: str, corner: str, cols: list[str], rows: list[tuple[str, list[str]]]) -> str:
    """A heatmap table (pre-escaped cells) in a box that scrolls: a shop's own history
    can hold more months than the page is wide."""
    head = "".join(f"<th>{h}</th>" for h in [corner, *cols])
    body = "".join(f"<tr><th>{r}</th>{''.join(cells)}</tr>" for r, cells in rows)
    return (
        f'<div class="scroll"><table class="heat"{table_id}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _cell(n: Any, top: float, text: str, title: str = "", rgb: str = "44,127,184") -> str:
    title = f' title="{title}"' if title else ""
    return f'<td style="{_heat_style(n, top, rgb)}"{title}>{text}</td>'


def _cohort_html(t: Any, cohorts: dict[str, Any] | None) -> str:
    if not cohorts or not cohorts.get("cohorts"):
        return f"<p class=muted>{_e(t.not_in_run)}</p>"
    later = [s for row in cohorts["shares"] for s in row[1:] if s is not None]
    top = max(later) if later else 1.0
    rows = [
        (
            _e(name),
            [f"<td class=n>{look.count(size)}</td>"]
            + [
                _cell(s, 1.0 if j == 0 else top, look.percent(s, 0), rgb="192,57,43")
                if s is not None
                else "<td></td>"
                for j, s in enumerate(shares)
            ],
        )
        for name, size, shares in zip(
            cohorts["cohorts"], cohorts["sizes"], cohorts["shares"], strict=True
        )
    ]
    months = [f"{_e(t.month)} {m}" for m in cohorts["months"]]
    return _heat(' id="cohort-heatmap"', _e(t.cohort), [_e(t.size), *months], rows)


def _flow_html(t: Any, v: Any, dash: dict[str, Any]) -> str:
    f = dash.get("flow")
    if not f:
        return f"<p class=muted>{_e(t.flow_none)}</p>"
    rows = [
        (v(r), [_cell(n, f["max"] or 1, look.count(n)) for n in row])
        for r, row in zip(f["from"], f["counts"], strict=True)
    ]
    note = (
        t.flow_help.replace("{prev}", _e(dash.get("previous_run")))
        .replace("{prev_as_of}", _e(dash.get("previous_as_of")))
        .replace("{moved}", look.count(f.get("moved")))
    )
    cols = [v(c) for c in f["to"]]
    return f"<p class=muted>{note}</p>" + _heat("", _e(t.stage_before), cols, rows)


def _orders_label(w: dict[str, str], lo: int, hi: int) -> str:
    key = "orders_range" if lo != hi else "orders_one" if lo == 1 else "orders_n"
    return w[key].format(lo=look.count(lo), hi=look.count(hi), n=look.count(lo))


def _rfm_html(t: Any, w: dict[str, str], customers: pd.DataFrame | None) -> str:
    """The R × F grid, each column named by the order counts its buyers have.

    F scores rank buyers by order count with ties sharing the lower score, so where most
    buyers ordered once, a score can be held by no one (the all-zero F2 column of the raw
    grid). The columns here are the scores buyers hold, labelled by their order counts;
    rows by recency in days; each cell's title gives its mean revenue. Nothing when the run
    has no RFM scores.
    """
    need = {"r_score", "f_score", "orders_total", "recency_days", "revenue_total"}
    if customers is None or not need <= set(customers.columns):
        return ""
    c = customers.dropna(subset=["r_score", "f_score"])
    r, f = c["r_score"].astype(int), c["f_score"].astype(int)
    counts = pd.crosstab(r, f).sort_index(ascending=False)
    revenue = c["revenue_total"].groupby([r, f]).mean().unstack()
    orders = c["orders_total"].fillna(0).groupby(f).agg(["min", "max"]).astype(int)
    days = c["recency_days"].fillna(0).groupby(r).agg(["min", "max"]).map(math.floor)
    top = max(int(counts.to_numpy().max(initial=0)), 1)
    rows = [
        (
            _e(f"R{s} · " + w["days_ago"].format(lo=days.at[s, "min"], hi=days.at[s, "max"])),
            [
                _cell(
                    n, top, look.count(n), f"{_e(t.avg_revenue)} {look.money(revenue.at[s, j], 2)}"
                )
                for j, n in counts.loc[s].items()
            ],
        )
        for s in counts.index
    ]
    cols = [_e(f"F{s} · {_orders_label(w, lo, hi)}") for s, lo, hi in orders.itertuples()]
    return (
        f"<h2>{_e(t.rfm_title)}</h2><p class=muted>{_e(t.rfm_help)} {_e(w['rfm_columns'])}</p>"
        + _heat(' id="rfm-grid"', "", cols, rows)
    )


def _bands_html(w: dict[str, str], val: dict[str, Any]) -> str:
    """Churn rate and lift per p_churn band (the validation slice's deciles), and where the
    lift means something. With most customers churning, the top of a capture curve cannot
    rise above 1 / base rate, so the separation shows at the low-risk end instead."""
    cal = pd.DataFrame(val.get("calibration") or [])
    base = val.get("churn_rate")
    if cal.empty or not base or "observed_rate" not in cal.columns:
        return ""
    cal = cal.dropna(subset=["observed_rate"]).reset_index(drop=True)
    rates = cal["observed_rate"].astype(float)
    lift, stay = rates / base, (1 - rates) / (1 - base) if base < 1 else rates * float("nan")
    cal = cal.assign(band=range(1, len(cal) + 1), lift=lift, stayed=1 - rates, stay=stay)
    ends = [{"rate": look.percent(rates.iloc[i]), "lift": _x(lift.iloc[i])} for i in (0, -1)]
    info = dict(base=look.percent(base), n=look.count(val.get("customers")), cap=_x(1 / base))
    info |= dict(days=_e(val.get("label_days")), cut=_e(val.get("cutoff")), stay=_x(stay.iloc[0]))
    line = w["high_base" if base >= 0.5 else "low_base"].format(**info, low=ends[0], top=ends[1])
    base_line = (float(base), w["base"].format(rate=look.percent(base)))
    titles = (w["bands_axis"], w["churned"])
    color = look.model_color("p_churn")  # as in the calibration chart beside it
    items = [(str(i + 1), r) for i, r in enumerate(rates)]
    chart = _columns_svg(w["bands_title"], items, titles, share=True, base=base_line, color=color)
    return (
        f'<h3>{_e(w["bands_title"])}</h3><p id="churn-lift">{_e(line)}</p>'
        f'<div class="cols"><div>{chart}</div><div>'
        + _grid(w, _BANDS, cal.to_dict("records"))
        + "</div></div>"
    )


def _model_html(t: Any, v: Any, w: dict[str, str], dash: dict[str, Any]) -> str:
    m = dash.get("model")
    if not m:
        return f"<p class=muted>{_e(t.model_none)}</p>"
    plan = m.get("plan") or {}
    met = m.get("metrics") or {}
    out = [
        f"<p>{_e(t.model_mode)}: {v(plan.get('mode'))} · {_e(t.horizon)}: "
        f"{_e(plan.get('horizon'))} · {_e(t.model_cutoffs)}: "
        f"{_e(', '.join(plan.get('cutoffs') or []))}</p>"
    ]
    rows = [
        [f"{g} {_e(k)}", look.count(x) if k == "n" else _n(x, 3)]
        for g in ("retained", "orders", "revenue")
        for k, x in (met.get(g) or {}).items()
        if g == "retained" or k != "n"
    ]
    val = m.get("validation") or {}
    if val.get("metrics"):
        rows.append(["p_churn ECE", _n(val["metrics"].get("ece"), 3)])
    out.append(_table([_e(t.metric), _e(t.value)], rows))
    if val.get("calibration"):
        cal = pd.DataFrame(val["calibration"]).dropna(subset=["p_mean", "observed_rate"])
        help_ = (
            t.validation_help.replace("{cut}", _e(val.get("cutoff")))
            .replace("{days}", _e(val.get("label_days")))
            .replace("{n}", look.count(val.get("customers")))
        )
        out += [
            f"<p class=muted>{help_}</p><h3>{_e(t.calibration_title)}</h3>",
            # Inline SVG needs no namespace URL in HTML: the report then holds no URL at all.
            calibration_svg({"p_churn": cal}, title=t.calibration_title).replace(NS, ""),
            _bands_html(w, val),
        ]
    return "".join(out)


def _reviews_html(t: Any, w: dict[str, str], snap: Snapshot, top: int = 20) -> list[str]:
    """The worst items with evidence and the review topics; nothing for a run without them."""
    out: list[str] = []
    q = snap.frames.get("item_quality")
    if q is not None and len(q):
        q = q[q["quality_score"].notna()]
        ok = (q["reviews"].fillna(0) >= MIN_REVIEWS) | (q["orders"].fillna(0) >= MIN_ORDERS)
        note = w["evidence"].format(reviews=MIN_REVIEWS, orders=MIN_ORDERS, n=int((~ok).sum()))
        q = q[ok].sort_values("quality_score", kind="stable").head(top)
        records = [
            {
                **r,
                "rating": f"{_n(r['rating_mean'], 2)} ({look.count(r['rated'])})"
                * bool(r["rated"]),
            }
            for r in q.to_dict("records")
        ]
        out += [
            f"<h2>{_e(t.worst_items_title)}</h2>"
            f"<p class=muted>{_e(t.worst_items_help)} {_e(note)}</p>",
            _grid(t, _ITEMS, records),
        ]
    if topics := snap.docs.get("topics"):
        out += [
            f"<h2>{_e(t.topics_title)}</h2><p class=muted>{_e(t.topics_help)}</p>",
            _grid(t, _TOPICS, topics, list=lambda x: _e(" · ".join(map(str, x or [])))),
        ]
    return out


def _risk_html(t: Any, v: Any, snap: Snapshot, top: int = 20) -> list[str]:
    """Risk KPIs and the riskiest high-band accounts; nothing for a run without risk."""
    r = snap.frames.get("risk")
    if r is None:
        return []
    stats, plan = ((snap.run.get("stats") or {}).get(k) or {} for k in ("risk", "plan"))
    high = r[r["risk_band"] == "high"].sort_values("risk_score", ascending=False, kind="stable")
    kpis = [
        (t.kpi_risk_accounts, look.count(stats.get("accounts", len(r)))),
        (t.kpi_risk_high, look.count(stats.get("high", len(high)))),
        (t.kpi_risk_medium, look.count(stats.get("medium", (r["risk_band"] == "medium").sum()))),
        (t.kpi_flagged_orders, look.count(stats.get("flagged_orders"))),
        (t.kpi_risky_excluded, look.count(plan.get("risky_excluded"))),
    ]
    out = [f'<h2 id="risk">{_e(t.risk_title)}</h2><p class=muted>{_e(t.risk_help)}</p>']
    out.append(_kpis(kpis))
    if len(high):
        out.append(_grid(t, _RISKY, high.head(top).to_dict("records"), v=v))
    return out


def workspace_report(ws: Any, out: str | Path, lang: str = "en") -> Path:
    """One self-contained HTML file of the latest run: KPIs, the cohort heatmap, stages and
    their flow, risk bands, segments and clusters, the top 50 at-risk customers, the plan
    and campaign read-outs, the worst items and review topics, risk control, demand (forecast
    by category, stock-outs, elasticities), model health (calibration and churn by p_churn
    band as inline SVG) and drift.

    No script, stylesheet, font or image is loaded from anywhere: it opens offline and
    can be mailed or archived as it is. ``lang`` is ``en`` or ``zh``.
    """
    if lang not in i18n.LANGUAGES:
        raise LiucunError(f"--lang {lang}: expected one of {', '.join(i18n.LANGUAGES)}")
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise LiucunError(f"{out}: the report is an .html file")
    snap = Snapshot.load(latest_run(ws))
    frames, clusters = snap.frames, snap.run_dir / "clusters.json"
    dash = load_dashboard(snap.run_dir) or frame_aggregates(
        *(frames.get(n) for n in ("customers", "scores", "plan", "segments")),
        json.loads(clusters.read_text("utf-8")) if clusters.exists() else None,
    )
    t, w = i18n.strings(lang), {k: p[i18n.LANGUAGES.index(lang)] for k, p in _WORDS.items()}

    def v(x: Any) -> str:
        return _e(i18n.value(lang, x))

    k = dash.get("kpis") or {}
    horizon = ((dash.get("model") or {}).get("plan") or {}).get("horizon") or 90
    kpis = [
        (t.kpi_customers, look.count(k.get("customers"))),
        (t.kpi_active, look.count(k.get("active_customers"))),
        (t.kpi_churn, look.percent(k.get("churn_rate"))),
        (t.kpi_at_risk, look.money(k.get("revenue_at_risk"))),
        (t.kpi_high, look.count(k.get("high_risk"))),
        (t.kpi_expected, look.money(k.get("expected_revenue"))),
    ]
    if "planned" in k:
        kpis.append((t.kpi_plan, look.count(k.get("planned"))))
    stages, bands = dash.get("stages") or [], dash.get("bands") or []
    colours = [{"high": "#c0392b", "medium": "#e67e22"}.get(b["band"], "#27ae60") for b in bands]
    stage = [(i18n.value(lang, s["stage"]), s["customers"]) for s in stages]
    band = [(i18n.value(lang, b["band"]), b["customers"]) for b in bands]
    body = [
        f"<h1>{_e(t.app)} · {_e(t.overview_title)}</h1>",
        f"<p class=muted>{_e(t.run)} {_e(snap.run_id)} · {_e(t.as_of)} {_e(snap.as_of)}</p>",
        _kpis(kpis),
        f"<p class=small>{_e(t.kpi_churn)}: {_e(t.kpi_churn_help.replace('{h}', str(horizon)))}"
        f" · {_e(t.kpi_at_risk)}: {_e(t.kpi_at_risk_help)}</p>",
        f"<h2>{_e(t.cohorts_title)}</h2><p class=muted>{_e(t.cohorts_help)}</p>",
        _cohort_html(t, dash.get("cohorts")),
        f"<div class=cols><div><h2>{_e(t.stages_title)}</h2>",
        _columns_svg(t.stages_title, stage, (t.stages_title, t.customers)),
        f"</div><div><h2>{_e(t.bands_title)}</h2>",
        _columns_svg(t.bands_title, band, (t.band, t.customers), colors=colours),
        _grid(t, "band:v customers:count value_at_risk:money", bands, v=v),
        f"</div></div><h2>{_e(t.flow_title)}</h2>",
        _flow_html(t, v, dash),
        f"<h2>{_e(t.named_segments)}</h2>",
        _grid(t, _SEGMENTS, dash.get("segments") or []),
        _rfm_html(t, w, frames.get("customers")),
    ]
    cl = dash.get("clusters")
    if cl:
        for c in cl["clusters"]:
            feats = [f for f in c.get("top_features") or [] if f.get("mean_z") is not None]
            c["features"] = ", ".join(f"{f['feature']} {f['mean_z']:+.1f}" for f in feats)
        body += [
            f"<h2>{_e(t.clusters_title)}</h2>",
            _grid(
                t,
                "cluster/name customers/size:count share:pct top_features/features",
                cl["clusters"],
            ),
        ]
    if snap.has("scores"):
        top = snap.at_risk(limit=50).to_dict("records")
        hidden = snap.at_risk_left_out()  # prospects and customers gone for good
        note = t.at_risk_help.format(days=f"{at_risk.RECENT_DAYS:.0f}")
        if any(hidden.values()):
            note += " " + t.at_risk_left_out.format(**{k: look.count(n) for k, n in hidden.items()})
        body += [
            f"<h2>{_e(t.at_risk_title)} (top 50)</h2><p class=muted>{_e(note)}</p>",
            _grid(t, _AT_RISK, top, v=lambda a: v(a) if isinstance(a, str) else "–"),
        ]
    plan = dash.get("plan")
    body.append(f"<h2>{_e(t.plan_title)}</h2>")
    body.append(
        _grid(t, _PLAN, plan.get("by_action") or [], v=v)
        if plan and plan.get("by_action")
        else f"<p class=muted>{_e(t.plan_none)}</p>"
    )
    readouts = dash.get("readouts") or []
    if readouts:
        body.append(f"<h2>{_e(t.readouts_title)}</h2><p class=muted>{_e(t.readouts_help)}</p>")
    for r in readouts:
        body.append(f"<h3>{_e(r.get('campaign_id'))}</h3>")
        if r.get("error"):
            body.append(f"<p class=muted>{_e(r['error'])}</p>")
            continue
        acts = [
            {**a, "ci": f"[{look.money(a.get('ci_low'), 2)}, {look.money(a.get('ci_high'), 2)}]"}
            for a in r.get("actions") or []
        ]
        body += [
            f"<p class=muted>{_e(r.get('window_line'))}</p>",
            _grid(t, _READOUT, acts, v=lambda a: _e(t.total) if a == "all" else v(a)),
        ]
    body += _reviews_html(t, w, snap)
    body += _risk_html(t, v, snap)
    for i, (title, note, spec, rows) in enumerate(demand.report_parts(snap, t)):
        head = f'<h2 id="demand">{_e(t.demand_title)}</h2>' * (i == 0)
        body += [f"{head}<h3>{_e(title)}</h3><p class=muted>{_e(note)}</p>"]
        body.append(_grid(t, spec, rows, v=v))
    body += [f"<h2>{_e(t.model_title)}</h2>", _model_html(t, v, w, dash)]
    drift = dash.get("drift") or []
    for d in drift:
        d["name"] = str(d["feature"]) + (" ⚠" if d.get("warning") else "")
    body.append(f"<h2>{_e(t.drift_title)}</h2><p class=muted>{_e(t.drift_help)}</p>")
    body.append(
        _grid(t, "feature/name PSI/psi:f3 mean_before:f2 mean_now:f2", drift)
        if drift
        else f"<p class=muted>{_e(t.drift_none)}</p>"
    )
    title = f"{t.app} · {t.run} {snap.run_id} · {t.as_of} {snap.as_of}"
    html_lang = "zh-CN" if lang == "zh" else "en"
    doc = look.page(title, f'<div class="report">{"".join(body)}</div>', lang=html_lang)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(doc, encoding="utf-8")
    return out
