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
# The --as-of option most commands take.
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="YYYY-MM-DD (00:00 UTC); default: the day after the data."),
]


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
    as_of: AsOf = None,
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
    as_of: AsOf = None,
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
        str, typer.Argument(help="What to evaluate: churn (default), recs or uplift.")
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
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="uplift: YYYY-MM-DD; default: the day after the data."),
    ] = None,
    holdout_campaigns: Annotated[
        int,
        typer.Option("--holdout-campaigns", help="uplift: latest campaigns held out for test."),
    ] = 1,
) -> None:
    """Rolling-origin evaluation, models side by side with their baselines.

    churn: recency, BG/NBD, Pareto/NBD and the boosted model. recs: popularity, item-kNN,
    ALS, BPR and liucun's ranked recommender (Recall/NDCG/HR/MRR@K, coverage, diversity,
    novelty). uplift: the planner's model, a T- and a DR-learner fitted on earlier
    campaigns and judged on the latest ones (Qini, AUUC, uplift by decile).
    """
    if kind == "recs":
        _backtest_recs(cutoffs, horizon, n, out_file)
        return
    if kind == "uplift":
        _backtest_uplift(as_of, horizon, holdout_campaigns, out_file)
        return
    if kind != "churn":
        raise LiucunError(f"backtest {kind}: expected churn, recs or uplift")
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


def _backtest_uplift(
    as_of: str | None, horizon: int | None, holdout: int, out_file: Path | None
) -> None:
    from rich import box

    from liucun.pipeline import parse_as_of
    from liucun.uplift_backtest import backtest_uplift, write_report

    if out_file and out_file.suffix.lower() not in (".html", ".htm", ".json"):
        raise LiucunError(f"{out_file}: the uplift backtest report is .html or .json")
    ws = _workspace()
    day = parse_as_of(as_of, ws)
    with err.status("starting") as status:
        bt = backtest_uplift(ws, day, horizon, holdout, on_step=status.update)
    console.print(
        f"uplift backtest, horizon {bt.horizon} days: trained on {bt.train_contacts:,} "
        f"contacts of {len(bt.train_campaigns)} campaigns (outcomes ending by "
        f"{bt.first_test_day}), tested on {bt.test_contacts:,} of "
        f"{', '.join(bt.test_campaigns)}",
        highlight=False,
    )
    for outcome, part in bt.table.groupby("outcome", sort=False):
        title = f"{outcome}: {bt.outcome[outcome]}"
        table = RichTable(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
        for c in ("model", "action"):
            table.add_column(c, no_wrap=True)
        for c in ("n_t", "n_c", "qini", "auuc", "random", "top 10%"):
            table.add_column(c, justify="right", no_wrap=True)
        spec = ".2f" if outcome == "net_revenue_h" else ".4f"
        for r in part.itertuples():
            nums = (r.qini, r.auuc, r.auuc_random, r.top_decile_uplift)
            table.add_row(
                r.model,
                r.action,
                f"{r.n_treatment:,}",
                f"{r.n_control:,}",
                *[format(v, spec) if _notna(v) else "-" for v in nums],
            )
        console.print(table)
    err.print(
        "qini: Qini coefficient; auuc vs random: AUUC of the model's ranking and of a "
        "random one; top 10%: observed uplift among the 10% with the highest predictions",
        markup=False,
        highlight=False,
    )
    for note in bt.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    if out_file:
        write_report(bt, out_file)
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
    as_of: AsOf = None,
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
def plan(
    out_file: Annotated[Path, typer.Option("--out", help="Write the plan to CSV or Parquet.")],
    budget: Annotated[
        float | None,
        typer.Option("--budget", help="Most the plan may cost (default: [plan] budget)."),
    ] = None,
    as_of: AsOf = None,
    horizon: Annotated[
        int | None,
        typer.Option("--horizon", help="Outcome window in days (default: [plan] horizon_days)."),
    ] = None,
    messages_file: Annotated[
        Path | None,
        typer.Option("--messages", help="Also write message drafts (CSV or Parquet)."),
    ] = None,
) -> None:
    """Next best action per customer by uplift, within the budget, with control groups."""
    from liucun.outputs import check_output, write_frame
    from liucun.pipeline import parse_as_of
    from liucun.planning import drafts, message_context
    from liucun.planning import plan as make_plan
    from liucun.scoring import score as score_customers

    check_output(out_file)
    if messages_file is not None:
        check_output(messages_file)
    ws = _workspace()
    day = parse_as_of(as_of, ws)
    with err.status("starting") as status:
        from liucun.features import feature_frame

        status.update(f"features as of {day}")
        features = feature_frame(ws, day)
        scored = score_customers(ws, day, features=features, on_step=status.update)
        r = make_plan(
            ws, day, budget, horizon, features=features, context=scored.scores,
            on_step=status.update,
        )  # fmt: skip
        if messages_file is not None:
            status.update("message drafts")
            msgs = drafts(ws, r.plan, message_context(ws, scored.scores))
    write_frame(r.plan, out_file)
    st = r.stats
    mix = ", ".join(f"{a} {n:,}" for a, n in st["by_action"].items()) or "nobody"
    console.print(
        f"plan as of {day}: {st['planned']:,} customers ({mix}) and {st['control']:,} held "
        f"out as control; expected cost {st['spend']:,.2f} of {st['budget']:,.2f}; expected "
        f"uplift {st['expected_uplift']:,.2f} over {st['horizon_days']} days → {out_file}",
        highlight=False,
    )
    skipped = {k: v for k, v in st["excluded"].items() if v}
    if skipped:
        err.print(
            "not planned: " + ", ".join(f"{k} {v:,}" for k, v in skipped.items()),
            markup=False,
            highlight=False,
        )
    if messages_file is not None:
        write_frame(msgs, messages_file)
        console.print(f"{len(msgs):,} message drafts → {messages_file}", highlight=False)


@app.command()
def alerts(
    as_of: AsOf = None,
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


campaign_app = typer.Typer(
    help="Past campaigns (read-outs), test sizes and plan exports.", no_args_is_help=True
)
app.add_typer(campaign_app, name="campaign")


def _num(v: object, spec: str = ",.2f") -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return format(v, spec)


def _ci(lo: object, hi: object) -> str:
    return f"[{_num(lo, ',.1f')}, {_num(hi, ',.1f')}]"


@campaign_app.command("readout")
def campaign_readout(
    campaign_id: Annotated[str, typer.Argument(help="The campaign, as in treatments.")],
    as_of: AsOf = None,
    horizon: Annotated[
        int | None,
        typer.Option("--horizon", help="Outcome window in days (default: liucun.toml or 90)."),
    ] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="1 - confidence level.")] = 0.05,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the table to CSV or Parquet.")
    ] = None,
) -> None:
    """Treatment against control per action: lift, CUPED, incremental revenue, ROI."""
    from liucun.campaigns import readout as campaign_readout_of
    from liucun.outputs import check_output, write_frame

    if out_file:
        check_output(out_file)
    ws = _workspace()
    with err.status(f"reading out {campaign_id}"):
        r = campaign_readout_of(ws, campaign_id, as_of, horizon, alpha)
    level = f"{1 - alpha:.0%}"
    t = RichTable(
        title=f"{r.campaign_id} (started {r.start}) as of {r.as_of}: treatment - control, "
        f"{r.window_days}-day outcome window"
    )
    t.add_column("per action", overflow="fold")
    for action in r.table.index:
        t.add_column(str(action), justify="right", overflow="fold")
    rows = r.table.to_dict("index")

    def line(label: str, cell, end: bool = False) -> None:
        t.add_row(label, *[cell(v) for v in rows.values()], end_section=end)

    line("customers treated / control", lambda v: f"{v['n_treatment']:,} / {v['n_control']:,}")
    line("conversion lift (points)", lambda v: _num(v["conversion_lift"] * 100, "+.1f"))
    line("  p-value", lambda v: _num(v["conversion_p_value"], ".3f"), end=True)
    line("revenue lift per customer", lambda v: _num(v["lift"], "+,.2f"))
    line(f"  {level} CI", lambda v: _ci(v["ci_low"], v["ci_high"]))
    line("  p-value", lambda v: _num(v["p_value"], ".3f"), end=True)
    line("CUPED lift per customer", lambda v: _num(v["cuped_lift"], "+,.2f"))
    line(f"  {level} CI", lambda v: _ci(v["cuped_ci_low"], v["cuped_ci_high"]))
    line("  variance reduction", lambda v: _num(v["cuped_variance_reduction"], ".0%"), end=True)
    line("incremental revenue", lambda v: _num(v["incremental_revenue"], "+,.2f"))
    line("cost (contacts + discounts)", lambda v: _num(v["cost"]))
    line("ROI", lambda v: _num(v["roi"], "+,.0%"))
    console.print(t)
    console.print(r.window_line, highlight=False)
    for note in r.notes:
        if note != r.window_line:
            err.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    if out_file:
        table = r.table.reset_index()
        table.insert(0, "campaign_id", r.campaign_id)
        table["as_of"] = r.as_of.isoformat()
        table["window_days"] = r.window_days
        table["complete"] = r.complete
        write_frame(table, out_file)
        console.print(f"wrote {len(table)} rows to {out_file}")


@campaign_app.command("list")
def campaign_list_cmd(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Only contacts before YYYY-MM-DD.")
    ] = None,
) -> None:
    """The campaigns in treatments, newest first: contacts, arms and actions."""
    from liucun.campaigns import list_campaigns

    df = list_campaigns(_workspace(), as_of)
    if df.empty:
        console.print("no campaigns")
        return
    t = RichTable(title="campaigns")
    for c in ("campaign", "start", "end", "contacts", "treated", "control", "actions"):
        t.add_column(c, justify="right" if c in ("contacts", "treated", "control") else "left")
    for r in df.itertuples(index=False):
        t.add_row(
            r.campaign_id,
            str(r.start),
            str(r.end),
            f"{r.contacts:,}",
            f"{r.treated:,}",
            f"{r.control:,}",
            r.actions,
        )
    console.print(t)


@campaign_app.command("export")
def campaign_export(
    plan: Annotated[
        str, typer.Argument(help="A plan file (.csv/.parquet) or 'latest' (the latest run's).")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or json.")] = "csv",
    campaign_id: Annotated[
        str | None,
        typer.Option("--campaign-id", help="Campaign id column (default plan-<run date>)."),
    ] = None,
    include_control: Annotated[
        bool,
        typer.Option(
            "--include-control",
            help="Also write the hold-out rows (arm = control; never contact them).",
        ),
    ] = False,
) -> None:
    """A plan as a contact list for a messaging tool (control rows left out)."""
    from liucun.campaigns import export_plan

    ws = _workspace() if plan == "latest" else None
    path, n = export_plan(plan, fmt, out_file, campaign_id, include_control, ws=ws)
    console.print(f"wrote {n:,} contacts to {path}", highlight=False)


@campaign_app.command("size")
def campaign_size(
    baseline_rate: Annotated[
        float, typer.Option("--baseline-rate", help="Control conversion rate, e.g. 0.10.")
    ],
    mde: Annotated[
        float, typer.Option("--mde", help="Change to detect, absolute: 0.02 = 2 points.")
    ],
    alpha: Annotated[float, typer.Option("--alpha", help="Two-sided test level.")] = 0.05,
    power: Annotated[float, typer.Option("--power", help="Power.")] = 0.8,
    control_share: Annotated[
        float, typer.Option("--control-share", help="Share of customers held out.")
    ] = 0.5,
    n: Annotated[
        int | None, typer.Option("--n", help="Customers available: the MDE they give.")
    ] = None,
) -> None:
    """Customers a conversion test needs per arm, and the MDE for a given number."""
    from liucun.campaigns import plan_size

    s = plan_size(baseline_rate, mde, alpha, power, control_share, n)
    console.print(
        f"to detect {mde:+.2%} on a {baseline_rate:.2%} baseline (alpha {alpha}, power "
        f"{power:.0%}, control share {control_share:.0%}): treatment {s['n_treatment']:,}, "
        f"control {s['n_control']:,}, total {s['n_total']:,}",
        highlight=False,
    )
    console.print(
        f"with {s['n']:,} customers the minimum detectable effect is {_num(s['mde_at_n'], '+.2%')}",
        highlight=False,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
) -> None:
    """The REST API (/api, OpenAPI at /docs) and the dashboard (/) of the latest run."""
    import uvicorn

    from liucun.serve.app import create_app
    from liucun.serve.keys import KeyStore

    ws = _workspace()
    if not any(k.revoked is None for k in KeyStore(ws.path).list()):
        err.print(
            "note: no API key yet: create one with `liucun apikey create NAME`",
            markup=False,
            highlight=False,
        )
    console.print(f"serving {ws.path} on http://{host}:{port} (docs at /docs)", highlight=False)
    uvicorn.run(create_app(ws.path), host=host, port=port)


apikey_app = typer.Typer(
    help="API keys for the REST API (stored as SHA-256 only).", no_args_is_help=True
)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key, e.g. shop-backend.")],
) -> None:
    """A new key, printed once on the last line: store it now, it cannot be shown again."""
    from liucun.serve.keys import KeyStore

    key = KeyStore(_workspace().path).create(name)
    print(f"API key {name!r} (shown once: only its SHA-256 is stored):")
    print(key)


@apikey_app.command("list")
def apikey_list() -> None:
    """Keys by name, when created and revoked (never the keys or their hashes)."""
    from liucun.serve.keys import KeyStore

    keys = KeyStore(_workspace().path).list()
    if not keys:
        console.print("no API keys: create one with `liucun apikey create NAME`", markup=False)
        return
    t = RichTable(title="API keys")
    for c in ("name", "created", "revoked"):
        t.add_column(c, overflow="fold")
    for k in keys:
        t.add_row(k.name, k.created, k.revoked or "-")
    console.print(t)


@apikey_app.command("revoke")
def apikey_revoke(
    name: Annotated[str, typer.Argument(help="The key's name.")],
) -> None:
    """Revoke the active key of that name: requests with it get 403 from then on."""
    from liucun.serve.keys import KeyStore

    n = KeyStore(_workspace().path).revoke(name)
    console.print(f"revoked {n} key{'s' if n != 1 else ''} named {name!r}", highlight=False)


sentiment_app = typer.Typer(
    help="Sentiment of review and service texts (Chinese and English).",
    invoke_without_command=True,
)
app.add_typer(sentiment_app, name="sentiment")


@sentiment_app.callback()
def sentiment_cmd(
    ctx: typer.Context,
    in_file: Annotated[
        Path | None, typer.Option("--in", help="CSV/Parquet/JSONL with a text column.")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Input columns + label, p_positive, lang.")
    ] = None,
) -> None:
    """Score texts: adds label (positive|negative), p_positive and lang to each row."""
    if ctx.invoked_subcommand:
        return
    if in_file is None or out_file is None:
        raise LiucunError("sentiment: give --in FILE and --out FILE (or `sentiment train`)")
    from liucun.outputs import check_output, write_frame
    from liucun.reviews import read_texts, score_texts, sentiment_model

    check_output(out_file)
    df = read_texts(in_file)
    with err.status("loading the sentiment model"):
        model, model_id = sentiment_model(_workspace())
    scored = score_texts(df["text"].tolist(), model)
    out = df.drop(columns=[c for c in scored.columns if c in df.columns])
    out = out.reset_index(drop=True).join(scored)
    write_frame(out, out_file)
    pos = int((out["label"] == "positive").sum())
    console.print(
        f"scored {len(out):,} texts ({pos:,} positive, {len(out) - pos:,} negative; "
        f"model {model_id}) → {out_file}",
        highlight=False,
    )


@sentiment_app.command("train")
def sentiment_train(
    data: Annotated[
        Path, typer.Option("--data", help="Columns text, label (positive|negative or 1|0).")
    ],
) -> None:
    """Fit the workspace's sentiment model on a labelled file; later scoring uses it."""
    from liucun.reviews import train_sentiment

    with err.status("fitting the sentiment model"):
        info = train_sentiment(_workspace(), data)
    console.print(
        f"trained on {info['rows']:,} texts ({info['positive']:,} positive, "
        f"{info['negative']:,} negative) → {info['path']}",
        highlight=False,
    )


reviews_app = typer.Typer(
    help="Review themes, topics, item quality, interests.", no_args_is_help=True
)
app.add_typer(reviews_app, name="reviews")


def _show_or_write(df, out_file: Path | None, title: str, limit: int) -> None:
    from liucun.outputs import check_output, write_frame

    if out_file is not None:
        check_output(out_file)
        write_frame(df, out_file)
        console.print(f"{title}: {len(df):,} rows → {out_file}", highlight=False)
        return
    t = RichTable(title=f"{title} ({min(limit, len(df))} of {len(df):,})")
    for c in df.columns:
        t.add_column(str(c), overflow="fold")
    for row in df.head(limit).itertuples(index=False):
        t.add_row(*(_fmt(v) for v in row))
    console.print(t)


@reviews_app.command("themes")
def reviews_themes(
    as_of: AsOf = None,
    by: Annotated[str, typer.Option("--by", help="category, top_category or item.")] = "category",
    out_file: Annotated[Path | None, typer.Option("--out", help="CSV or Parquet.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print.")] = 30,
) -> None:
    """Aspects customers talk about (quality, price, delivery...) per group, with sentiment."""
    from liucun.pipeline import parse_as_of
    from liucun.reviews import themes

    ws = _workspace()
    day = parse_as_of(as_of, ws)
    with err.status("scoring review texts"):
        df = themes(ws, day, by)
    _show_or_write(df, out_file, f"themes by {by} as of {day}", limit)


@reviews_app.command("quality")
def reviews_quality(
    as_of: AsOf = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="CSV or Parquet.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print (worst first).")] = 20,
) -> None:
    """Item quality from ratings, review sentiment and refunds, shrunk when evidence is thin."""
    from liucun.pipeline import parse_as_of
    from liucun.reviews import item_quality

    ws = _workspace()
    day = parse_as_of(as_of, ws)
    with err.status("scoring review texts"):
        df = item_quality(ws, day)
    _show_or_write(df, out_file, f"item quality as of {day}", limit)


@reviews_app.command("topics")
def reviews_topics(as_of: AsOf = None) -> None:
    """Topics over all reviews (NMF) with their top words, share and sentiment."""
    import pandas as pd

    from liucun.pipeline import parse_as_of
    from liucun.reviews import topics

    ws = _workspace()
    day = parse_as_of(as_of, ws)
    with err.status("fitting topics"):
        tp = topics(ws, day)
    if not tp:
        console.print("too few reviews for topics", highlight=False)
        return
    df = pd.DataFrame(tp).assign(words=lambda d: d["words"].map(" ".join))
    _show_or_write(df, None, f"review topics as of {day}", len(df))


@reviews_app.command("interests")
def reviews_interests(
    as_of: AsOf = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="CSV or Parquet.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print.")] = 20,
) -> None:
    """Interest keywords per customer from the items they browsed and bought."""
    from liucun.pipeline import parse_as_of
    from liucun.reviews import interests

    ws = _workspace()
    day = parse_as_of(as_of, ws)
    df = interests(ws, day)
    _show_or_write(df, out_file, f"interest keywords as of {day}", limit)


@app.command("risk")
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
    from liucun.pipeline import parse_as_of
    from liucun.risk import OUTPUT_COLUMNS, risk_scores

    for f in (out_file, orders_file):
        if f is not None:
            check_output(f)
    ws = _workspace()
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
            f"cross-fitted ROC-AUC {sv['cv_roc_auc']:.3f}, PR-AUC {sv['cv_pr_auc']:.3f}",
            highlight=False,
        )
    _show_or_write(r.scores[OUTPUT_COLUMNS], None, "riskiest accounts", limit)


@app.command("assist")
def assist_cmd(
    question: Annotated[str, typer.Argument(help="The customer's question (zh or en).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full answer as JSON.")] = False,
) -> None:
    """Answer a customer question from the shop FAQ, or hand it over to a person."""
    import json

    from liucun.assist import Assistant, assistant_config

    ws = _workspace()
    a = Assistant(assistant_config(ws.config, root=ws.path)).answer(question)
    if as_json:
        console.print_json(json.dumps(a, ensure_ascii=False))
        return
    console.print(
        f"intent: {a['intent']} (p={a['intent_p']:.2f}) · source: {a['source']}"
        + (" · handed over to a person" if a["handover"] else ""),
        highlight=False,
    )
    console.print(a["reply"], markup=False, highlight=False)
    for hit in a["answers"]:
        err.print(f"  {hit['score']:.2f}  {hit['question']}", markup=False, highlight=False)


@app.command("report")
def report_cmd(
    out_file: Annotated[Path, typer.Option("--out", help="The .html file to write.")] = Path(
        "report.html"
    ),
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
) -> None:
    """One self-contained HTML report of the latest run (opens offline; for email)."""
    from liucun.report import workspace_report

    path = workspace_report(_workspace(), out_file, lang=lang)
    console.print(f"wrote {path}", highlight=False)


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
