"""``liucun backtest``: churn, recs and uplift models judged against their baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from liucun.cli._common import console, err, fmt, notna, open_workspace
from liucun.errors import LiucunError


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
    from liucun.backtests.churn import backtest as run_backtest
    from liucun.backtests.pages import backtest_report
    from liucun.engines import workspace_tables
    from liucun.evaluate.splits import parse_cutoffs, rolling_cutoffs
    from liucun.features.btyd import order_span
    from liucun.tasks.score import score_config
    from liucun.workspace import check_horizon, parse_as_of

    ws = open_workspace()
    cfg = score_config(ws)
    H = int(horizon if horizon is not None else cfg["horizon_days"])
    check_horizon(H)
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
        table.add_row(row["model"], *[fmt(float(row[c])) if c in row else "-" for c in shown])
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

    from liucun.backtests.pages import uplift_report
    from liucun.backtests.uplift import backtest_uplift
    from liucun.workspace import parse_as_of

    if out_file and out_file.suffix.lower() not in (".html", ".htm", ".json"):
        raise LiucunError(f"{out_file}: the uplift backtest report is .html or .json")
    ws = open_workspace()
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
                *[format(v, spec) if notna(v) else "-" for v in nums],
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
        uplift_report(bt, out_file)
        console.print(f"wrote {out_file}")


def _backtest_recs(cutoffs: str | None, horizon: int | None, n: int, out_file: Path | None) -> None:
    import json

    from liucun.backtests.recs import backtest as recs_backtest
    from liucun.engines import workspace_tables
    from liucun.evaluate.splits import parse_cutoffs, rolling_cutoffs
    from liucun.tasks.recommend import recommend_config
    from liucun.workspace import check_horizon, parse_as_of

    ws = open_workspace()
    H = int(horizon if horizon is not None else 30)
    check_horizon(H)
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
            *[f"{float(row[c]):.4f}" if c in row and notna(row[c]) else "-" for c in shown],
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
