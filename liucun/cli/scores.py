"""The daily job and what it scores: run, segments, profile, score, alerts and risk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from liucun.cli._common import (
    MISSING,
    AsOf,
    console,
    err,
    fmt,
    missing,
    num,
    open_workspace,
    show_or_write,
)
from liucun.errors import LiucunError
from liucun.look import count, percent


def run_cmd(
    as_of: AsOf = None,
) -> None:
    """The daily job: features, segments, stages, clusters, profiles (tagged by run_id)."""
    from liucun.pipeline.run import run

    ws = open_workspace()
    with err.status("starting") as status:
        r = run(ws, as_of, on_step=lambda step: status.update(step))
    console.print(
        f"run {r.run_id} as of {r.as_of}: {r.stats['customers']:,} customers, "
        f"{r.stats['features']} features, {r.stats['segments']} segments, "
        f"{r.stats['clusters']} clusters (silhouette {num(r.stats['silhouette'])}), "
        f"{r.stats['high_risk']:,} high / {r.stats['medium_risk']:,} medium churn risk "
        f"({r.stats['score_mode']} models)"
    )
    if hz := r.stats.get("horizon_choice"):
        console.print(
            f"churn horizon {hz['days']} days: {hz['why']}", markup=False, highlight=False
        )
    if r.stats.get("score_note"):
        err.print(f"note: {r.stats['score_note']}", markup=False, highlight=False)
    if risk := r.stats.get("risk"):
        kept = r.stats.get("plan", {}).get("risky_excluded")
        console.print(
            f"fraud/abuse risk: {risk['high']:,} high, {risk['medium']:,} medium, "
            f"{risk['flagged_orders']:,} flagged orders"
            + (f"; {kept:,} kept out of coupon actions" if kept is not None else ""),
            highlight=False,
        )
    for name, path in r.outputs.items():
        console.print(f"  {name}: {path}")


def segments(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Compute as of YYYY-MM-DD (runs the job).")
    ] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to CSV or Parquet.")] = None,
) -> None:
    """One row per segment: customers, revenue share and a suggested play."""
    from liucun.outputs import write_frame
    from liucun.pipeline.run import run
    from liucun.runs import read_output

    ws = open_workspace()
    if as_of is not None:
        with err.status("computing segments"):
            run(ws, as_of)
    try:
        table = read_output(ws, "segments")
    except LiucunError:
        with err.status("no run yet: computing segments as of the day after the data"):
            run(ws, None)
        table = read_output(ws, "segments")
    if out_file:
        write_frame(table, out_file)
        console.print(f"wrote {len(table)} segments to {out_file}")
        return
    t = RichTable(title="segments")
    shown = [c for c in table.columns if c != "suggested_play"]
    for c in ("segment", *shown[1:]):
        t.add_column(c.replace("_", " "), justify="left" if c == "segment" else "right")
    for row in table[shown].itertuples(index=False):
        t.add_row(*[_segment_cell(k, v) for k, v in zip(shown, row, strict=True)])
    console.print(t)
    if "suggested_play" in table.columns:
        for seg_name, play in zip(table["segment"], table["suggested_play"], strict=True):
            console.print(f"[bold]{seg_name}[/bold]: {play}", highlight=False)


def _segment_cell(column: str, v: object) -> str:
    """One cell of the segments table: a segment without orders (Prospect) has no
    recency or average, shown as "–" rather than "nan"."""
    if missing(v):
        return MISSING
    if column == "revenue_share":
        return percent(v)
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, int):
        return count(v)
    return str(v)


def profile(
    user_id: Annotated[str, typer.Argument(help="The customer's id.")],
) -> None:
    """One customer's profile from the latest run: facts, tags, segment, stage, cluster."""
    from liucun.tasks.segments import customer_profile

    p = customer_profile(open_workspace(), user_id)
    t = RichTable(title=f"customer {user_id}", show_header=False)
    t.add_column("field")
    t.add_column("value", overflow="fold")
    for k, v in p.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                t.add_row(f"{k}.{k2}", fmt(v2))
        else:
            t.add_row(k, fmt(v))
    console.print(t)


def score(
    out_file: Annotated[Path, typer.Option("--out", help="Write scores to CSV or Parquet.")],
    as_of: AsOf = None,
    horizon: Annotated[
        int | None,
        typer.Option(
            "--horizon",
            help="Outcome window in days (default: \\[score] horizon in liucun.toml; "
            '"auto" reads it from the shop\'s repeat-purchase gaps).',
        ),
    ] = None,
) -> None:
    """Churn probability, expected orders and revenue, CLV and reasons per customer."""
    from liucun.outputs import check_output, write_frame
    from liucun.tasks.score import score as score_customers
    from liucun.workspace import check_horizon, parse_as_of, stale_as_of

    check_output(out_file)
    if horizon is not None:
        check_horizon(horizon)
    ws = open_workspace()
    day = parse_as_of(as_of, ws)
    with err.status("starting") as status:
        r = score_customers(ws, day, horizon, on_step=lambda step: status.update(step))
    write_frame(r.scores, out_file)
    bands = r.scores["risk_band"].value_counts()
    how = "reused" if r.reused else "fitted"
    console.print(
        f"scored {len(r.scores):,} customers as of {day} over {r.plan.horizon} days "
        f"({r.plan.mode} models {how}): high {bands.get('high', 0):,}, "
        f"medium {bands.get('medium', 0):,}, low {bands.get('low', 0):,} → {out_file}",
        highlight=False,
    )
    if r.horizon is not None and r.horizon.source != "argument":
        console.print(f"horizon: {r.horizon.why}", markup=False, highlight=False)
    if r.convert and r.convert.get("prospects"):
        cv = r.convert
        console.print(
            f"p_convert for {cv['prospects']:,} customers who never ordered: "
            f"{num(cv['expected_conversions'], ',.1f')} expected first orders "
            f"({cv['mode']} model, base rate {percent(cv['base_rate'])})",
            highlight=False,
        )
    if r.plan.why:
        err.print(f"note: {r.plan.why}", markup=False, highlight=False)
    stale = stale_as_of(ws, day, r.plan.horizon)
    if stale:
        err.print(f"warning: {stale}", markup=False, highlight=False)


def alerts(
    as_of: AsOf = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print.")] = 20,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to CSV or Parquet.")] = None,
) -> None:
    """Customers who crossed into the high-risk band since the previous run, and drift."""
    from liucun.outputs import check_output, write_frame
    from liucun.pipeline.alerts import PSI_WARNING
    from liucun.pipeline.alerts import alerts as run_alerts

    if out_file:
        check_output(out_file)
    ws = open_workspace()
    with err.status("starting") as status:
        a = run_alerts(ws, as_of, on_step=lambda step: status.update(step))
    since = f"since run {a.previous}" if a.previous else "(first run: every high-risk customer)"
    console.print(
        f"{len(a.alerts):,} customers crossed into the high band as of {a.run.as_of} {since}",
        highlight=False,
    )
    if len(a.alerts):
        t = RichTable()
        for c in ("user_id", "p_churn", "value_at_risk", "segment", "reasons"):
            t.add_column(c, overflow="fold")
        for _, r in a.alerts.head(limit).iterrows():
            t.add_row(
                r["user_id"],
                num(r["p_churn"]),
                num(r["value_at_risk"]),
                fmt(r["segment"]),
                fmt(r["reasons"]),
            )
        console.print(t)
    for _, r in a.drift.iterrows():
        if r["psi"] > PSI_WARNING:
            err.print(
                f"warning: feature drift: {r['feature']} PSI {r['psi']:.2f} > {PSI_WARNING}",
                markup=False,
                highlight=False,
            )
    if out_file:
        write_frame(a.alerts, out_file)
        console.print(f"wrote {len(a.alerts)} alerts to {out_file}")


def risk_cmd(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="user_id, risk_score, risk_band, risk_reasons.")
    ] = None,
    as_of: AsOf = None,
    orders_file: Annotated[
        Path | None, typer.Option("--orders", help="Also write the flagged orders here.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Riskiest accounts to print.")] = 10,
) -> None:
    """Fraud and coupon-abuse risk per account (rules + anomaly detector) with reasons."""
    from liucun.outputs import check_output, write_frame
    from liucun.tasks.risk import OUTPUT_COLUMNS, risk_scores
    from liucun.workspace import parse_as_of

    for f in (out_file, orders_file):
        if f is not None:
            check_output(f)
    ws = open_workspace()
    day = parse_as_of(as_of, ws)
    with err.status("scoring risk"):
        r = risk_scores(ws, day)
    if out_file is not None:
        write_frame(r.scores, out_file)
    if orders_file is not None:
        write_frame(r.orders, orders_file)
    st = r.stats
    hits = ", ".join(f"{k} {v:,}" for k, v in st["rule_hits"].items() if v) or "none"
    console.print(
        f"risk as of {day}: {st['accounts']:,} accounts, high {st['high']:,}, "
        f"medium {st['medium']:,}; rule hits: {hits}; flagged orders {st['flagged_orders']:,}"
        + (f" → {out_file}" if out_file else ""),
        highlight=False,
    )
    if "supervised" in st:
        sv = st["supervised"]
        console.print(
            f"supervised (labels on {sv['labelled']:,} accounts, {sv['positives']:,} positive): "
            f"cross-fitted ROC-AUC {num(sv['cv_roc_auc'], '.3f')}, "
            f"PR-AUC {num(sv['cv_pr_auc'], '.3f')}",
            highlight=False,
        )
    show_or_write(r.scores[OUTPUT_COLUMNS], None, "riskiest accounts", limit)
