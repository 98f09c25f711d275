"""The backtest pages: ``liucun backtest --out`` and ``liucun backtest uplift --out``.

Each is one self-contained HTML file (or JSON) in the shared look of :mod:`liucun.look`:
tables scroll inside their own box instead of widening the page, counts read ``3,474``
(not ``3474.000``), money ``1,204.50``, shares as percentages, and every model keeps its
colour (:func:`liucun.look.model_color`) in the tables and on every chart.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from liucun import look
from liucun.backtests.uplift import UpliftBacktest
from liucun.errors import LiucunError
from liucun.evaluate.plots import calibration_svg, lift_svg
from liucun.evaluate.uplift import qini_svg

__all__ = ["backtest_report", "uplift_report"]

e = html.escape
Format = Callable[[Any, Mapping[str, Any]], str]  # (value, its row) -> cell text

# Columns that count things (customers, contacts, cutoffs) and are written as whole numbers.
COUNTS = frozenset({"customers", "cutoffs", "n_treatment", "n_control", "decile", "contacts"})
# Uplift columns in the unit of the row's outcome: money per contact or orders per contact.
PER_OUTCOME = frozenset(
    {
        "observed_uplift",
        "qini",
        "auuc",
        "auuc_random",
        "top_decile_uplift",
        "treated_mean",
        "control_mean",
    }
)
MONEY_OUTCOMES = ("net_revenue_h",)


def _fixed(digits: int) -> Format:
    """A fixed-decimals writer for scores and rates (AUC 0.742, lift 2.31), "–" if missing."""

    def fmt(v: Any, row: Mapping[str, Any]) -> str:
        try:
            f = float(v)
        except (TypeError, ValueError):
            return "–"
        if not math.isfinite(f):
            return "–"
        return f"{f:,.{digits}f}"

    return fmt


def _per_outcome(v: Any, row: Mapping[str, Any]) -> str:
    """Money (2 decimals) for a money outcome, orders per contact (3 decimals) otherwise."""
    if row.get("outcome") in MONEY_OUTCOMES:
        return look.money(v, 2)
    return _fixed(3)(v, row)


def _format_of(column: str, values: pd.Series) -> Format | None:
    """How a column's cells are written; ``None`` for text (escaped as is)."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return None
    if column in COUNTS or column.endswith(("_count", "_contacts")):
        return lambda v, row: look.count(v)
    if column in PER_OUTCOME:
        return _per_outcome
    if column == "predicted_mean":  # every learner predicts uplift in net revenue
        return lambda v, row: look.money(v, 2)
    if column.startswith("capture_") or column.endswith(("_share", "_oracle")):
        return lambda v, row: look.percent(v, 1)
    if column.startswith("lift_") or column.endswith(("_mae", "spearman")):
        return _fixed(2)
    if pd.api.types.is_integer_dtype(values):
        return lambda v, row: look.count(v)
    return _fixed(3)


def _header(column: str) -> str:
    """A column name that may break after its underscores (no over-wide headers)."""
    return "_<wbr>".join(e(part) for part in column.split("_"))


def _table(df: pd.DataFrame, tall: bool = False) -> str:
    """A ``table.data`` in its own horizontal scroll box; the model column first, each
    model row marked with the model's colour; numbers right-aligned and formatted."""
    if "model" in df.columns:
        df = df[["model", *[c for c in df.columns if c != "model"]]]
    formats = {c: _format_of(str(c), df[c]) for c in df.columns}
    head = "".join(
        f'<th class="n">{_header(str(c))}</th>' if formats[c] else f"<th>{_header(str(c))}</th>"
        for c in df.columns
    )
    rows = []
    for rec in df.to_dict("records"):
        cells = []
        for c in df.columns:
            fmt, v = formats[c], rec[c]
            if fmt is not None:
                cells.append(f'<td class="n">{e(_unsigned_zero(fmt(v, rec)))}</td>')
            else:
                cells.append(f"<td>{'–' if _missing(v) else e(str(v))}</td>")
        mark = ""
        if "model" in rec:
            mark = f' class="model" style="--model:{look.model_color(str(rec["model"]))}"'
        rows.append(f"<tr{mark}>{''.join(cells)}</tr>")
    box = "scroll tall" if tall else "scroll"
    return (
        f'<div class="{box}"><table class="data"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _unsigned_zero(text: str) -> str:
    """``-0.00`` (a tiny negative rounded away) reads as ``0.00``."""
    zero = text.startswith("-") and "0" in text and not text.strip("-0.,%")
    return text[1:] if zero else text


def _missing(v: Any) -> bool:
    """A missing text cell (None or NaN), written "–"."""
    return v is None or (isinstance(v, float) and math.isnan(v))


def _kv(rows: list[tuple[str, str]]) -> str:
    """A two-column key/value table; values are already escaped HTML."""
    body = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<div class="scroll"><table class="kv"><tbody>{body}</tbody></table></div>'


def _figure(caption: str, svg: str, note: str = "") -> str:
    """A chart in its framed box, with a caption above and a one-line reading hint below."""
    note_html = f'<p class="muted small">{e(note)}</p>' if note else ""
    return f'<figure class="plot"><figcaption>{e(caption)}</figcaption>{svg}{note_html}</figure>'


def _notes(notes: list[str]) -> str:
    """The backtest's notes as a list (nothing when there are none)."""
    items = "".join(f"<li>{e(n)}</li>" for n in notes)
    return f"<h2>Notes</h2><ul>{items}</ul>" if items else ""


def _write(path: Path, title: str, body: str) -> Path:
    """The page in the shared look; ``.backtest`` scopes this page's table rules."""
    path.write_text(look.page(title, f'<div class="backtest">{body}</div>'), encoding="utf-8")
    return path


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
    summary, per_cutoff = result["summary"], result["per_cutoff"]
    facts = [
        ("horizon", f"{look.count(result['horizon_days'])} days"),
        ("cutoffs", e(", ".join(result["cutoffs"]))),
        ("models", e(", ".join(map(str, summary["model"]))) if "model" in summary else "–"),
    ]
    if {"cutoff", "customers"} <= set(per_cutoff.columns):
        sizes = per_cutoff.groupby("cutoff", sort=False)["customers"].first()
        facts.append(("customers per cutoff", e(", ".join(look.count(v) for v in sizes))))
    charts = _figure(
        "Calibration of p_churn (last cutoff)",
        calibration_svg(result["calibration"], title="Calibration of p_churn"),
        "Mean predicted churn against the observed rate per bin; points on the dashed "
        "diagonal are calibrated.",
    ) + _figure(
        "Churners captured by p_churn rank (last cutoff)",
        lift_svg(result["lift"], title="Churners captured by p_churn rank"),
        "Share of churners among the top-ranked customers; the dashed diagonal is random.",
    )
    body = (
        f"<h1>{e(title)}</h1>"
        + _kv(facts)
        + "<h2>Mean over cutoffs</h2>"
        + _table(summary)
        + f'<h2>Charts</h2><div class="charts">{charts}</div>'
        + "<h2>Per cutoff</h2>"
        + _table(per_cutoff)
        + _notes(list(result["notes"]))
    )
    return _write(path, title, body)


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

    title = f"Uplift backtest, horizon {bt.horizon} days"
    facts = [
        ("as of", e(str(bt.as_of))),
        ("horizon", f"{look.count(bt.horizon)} days (response window {bt.window_days} days)"),
        (
            "trained on",
            f"{look.count(bt.train_contacts)} contacts of "
            f"{e(', '.join(bt.train_campaigns))} (outcome windows ending by {bt.first_test_day})",
        ),
        (
            "held out",
            f"{look.count(bt.test_contacts)} contacts of {e(', '.join(bt.test_campaigns))}",
        ),
        *((f"outcome {k}", e(v)) for k, v in bt.outcome.items()),
    ]
    outcomes = list(dict.fromkeys([*bt.outcome, *(out for _, out in bt.curves)]))
    plots = []
    for out in outcomes:
        figures = [
            _figure(action, qini_svg(models, title=f"Qini curve, {action}, {out}"))
            for (action, o), models in bt.curves.items()
            if o == out
        ]
        if figures:
            what = bt.outcome.get(out, "")
            plots.append(
                f"<h3>{e(out)}</h3>"
                + (f'<p class="muted small">{e(what)}</p>' if what else "")
                + f'<div class="charts">{"".join(figures)}</div>'
            )
    body = (
        f"<h1>{e(title)}</h1>"
        + _kv(facts)
        + "<p>Per action: that action's held-out contacts and all held-out control contacts, "
        "ranked by the model's predicted uplift of the action. Money columns are per contact "
        "for <code>net_revenue_h</code>; orders per contact for the other outcome.</p>"
        "<h2>Qini and AUUC</h2>"
        + _table(bt.table)
        + "<h2>Qini curves</h2>"
        + "".join(plots)
        + "<h2>Observed uplift by predicted-uplift decile</h2>"
        + _table(bt.deciles, tall=True)
        + _notes(list(bt.notes))
    )
    return _write(path, title, body)
