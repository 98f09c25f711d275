"""Acting on the scores: ``liucun plan`` and the ``campaign`` group (read-outs, sizes, exports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from liucun.cli._common import MISSING, AsOf, console, err, missing, num, open_workspace
from liucun.look import percent, points

campaign_app = typer.Typer(
    help="Past campaigns (read-outs), test sizes and plan exports.", no_args_is_help=True
)


def plan(
    out_file: Annotated[Path, typer.Option("--out", help="Write the plan to CSV or Parquet.")],
    budget: Annotated[
        float | None,
        typer.Option("--budget", help="Most the plan may cost (default: \\[plan] budget)."),
    ] = None,
    as_of: AsOf = None,
    horizon: Annotated[
        int | None,
        typer.Option("--horizon", help="Outcome window in days (default: \\[plan] horizon_days)."),
    ] = None,
    messages_file: Annotated[
        Path | None,
        typer.Option("--messages", help="Also write message drafts (CSV or Parquet)."),
    ] = None,
) -> None:
    """Next best action per customer by uplift, within the budget, with control groups."""
    from liucun.outputs import check_output, write_frame
    from liucun.tasks.messages import drafts, message_context
    from liucun.tasks.plan import plan as make_plan
    from liucun.tasks.score import score as score_customers
    from liucun.workspace import check_budget, check_horizon, parse_as_of, stale_as_of

    check_output(out_file)
    if messages_file is not None:
        check_output(messages_file)
    if budget is not None:
        check_budget(budget)
    if horizon is not None:
        check_horizon(horizon)
    ws = open_workspace()
    day = parse_as_of(as_of, ws)
    stale = stale_as_of(ws, day, horizon or 90)
    if stale:
        err.print(f"warning: {stale}", markup=False, highlight=False)
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
            # Recommendations for the contacted customers are computed here (no run).
            ctx = message_context(
                ws, day, r.plan, scored.scores, features=features, on_step=status.update
            )
            msgs = drafts(ws, r.plan, ctx)
    write_frame(r.plan, out_file)
    st = r.stats
    _print_plan(st, day, out_file)
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


def _print_plan(st: dict, day: object, out_file: Path) -> None:
    """The plan's summary: what it does, what it is expected to earn (with its interval)
    and the evidence per action it rests on."""
    mix = ", ".join(f"{a} {n:,}" for a, n in st["by_action"].items()) or "nobody"
    if st.get("first_test"):
        console.print(
            f"first test as of {day} (no randomised campaign history to plan from: "
            f"{st['why']}): {st['planned']:,} customers ({mix}) and {st['control']:,} "
            f"control; expected cost {num(st['spend'])} of {num(st['budget'])} → {out_file}",
            highlight=False,
        )
        for note in st.get("test", {}).get("notes", []):
            err.print(f"note: {note}", markup=False, highlight=False)
        return
    console.print(
        f"plan as of {day}: {st['planned']:,} customers ({mix}) and {st['control']:,} held "
        f"out as control ({st['explore']:,} rows exploring); expected cost "
        f"{num(st['spend'])} of {num(st['budget'])} (margin {percent(st['cost_margin'], 0)}); "
        f"expected uplift {num(st['expected_uplift'])} "
        f"[{num(st['expected_uplift_lo'])}, {num(st['expected_uplift_hi'])}] over "
        f"{st['horizon_days']} days → {out_file}",
        highlight=False,
    )
    console.print(
        f"evidence from past campaigns: net revenue per contact over {st['outcome_days']} "
        f"days, contact cost deducted, {st['confidence']:.0%} intervals over all actions; "
        "slope = realised per predicted uplift on held-out campaigns",
        highlight=False,
    )
    words = {"proven": "planned wherever it pays", "targeted": "planned where its "
             "targeting held out", "not_shown": "not planned (no gain shown)"}  # fmt: skip
    for a, e in sorted(st["evidence"].items()):
        console.print(
            f"  {a}: {num(e['net_effect'], '+,.2f')} {_ci(e['lo'], e['hi'])}, detectable "
            f"±{num(e.get('detectable'))}; slope {num(e['slope'])} ± {num(e['slope_se'])}; "
            f"{e['treated']:,} treated, {e['control']:,} control → {words[e['status']]}",
            highlight=False,
        )
    if not st["planned"]:
        err.print(
            "no action showed a gain on past campaigns at this confidence: nothing is worth "
            "its cost yet. Effects smaller than 'detectable' cannot be seen with "
            "this much history; `liucun campaign size` sizes a test that could show one",
            markup=False,
            highlight=False,
        )


def _ci(lo: object, hi: object) -> str:
    return f"[{num(lo, ',.1f')}, {num(hi, ',.1f')}]"


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
    from liucun.outputs import check_output, write_frame
    from liucun.tasks.campaigns import readout as campaign_readout_of

    if out_file:
        check_output(out_file)
    ws = open_workspace()
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
    # A difference of two conversion rates is in percentage points; ROI is a percentage
    # (the dashboard and the report write both the same way, through liucun.look).
    line("conversion lift", lambda v: points(v["conversion_lift"], 1))
    line("  p-value", lambda v: num(v["conversion_p_value"], ".3f"), end=True)
    line("revenue lift per customer", lambda v: num(v["lift"], "+,.2f"))
    line(f"  {level} CI", lambda v: _ci(v["ci_low"], v["ci_high"]))
    line("  p-value", lambda v: num(v["p_value"], ".3f"), end=True)
    line("CUPED lift per customer", lambda v: num(v["cuped_lift"], "+,.2f"))
    line(f"  {level} CI", lambda v: _ci(v["cuped_ci_low"], v["cuped_ci_high"]))
    line("  variance reduction", lambda v: percent(v["cuped_variance_reduction"], 0), end=True)
    line("incremental revenue", lambda v: num(v["incremental_revenue"], "+,.2f"))
    line("cost (contacts + discounts)", lambda v: num(v["cost"]))
    line("ROI", lambda v: percent(v["roi"]))
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
    from liucun.tasks.campaigns import list_campaigns

    df = list_campaigns(open_workspace(), as_of)
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
    no_record: Annotated[
        bool,
        typer.Option(
            "--no-record",
            help="Dry run: do not record the assignments as the campaign's treatments.",
        ),
    ] = False,
) -> None:
    """A plan as a contact list for a messaging tool (control rows left out).

    The assignments, control included, are recorded in treatments under the campaign's
    id so `liucun campaign readout` can measure it later; exporting again adds nothing.
    """
    from liucun.tasks.campaigns import export_plan, record_plan

    ws = open_workspace() if plan == "latest" or not no_record else None
    path, n = export_plan(plan, fmt, out_file, campaign_id, include_control, ws=ws)
    console.print(f"wrote {n:,} contacts to {path}", highlight=False)
    if no_record or ws is None:
        return
    if n == 0:  # an empty plan (nothing shown worth its cost): no campaign to record
        console.print("nothing recorded: the plan contacts nobody", highlight=False)
        return
    rec = record_plan(ws, plan, campaign_id)
    res = rec.result
    console.print(
        f"recorded campaign {', '.join(rec.campaign_ids)} on {rec.day}: {rec.rows:,} "
        f"assignments ({rec.control:,} control), {res.loaded:,} new, {res.duplicates:,} "
        f"already recorded" + (f", {res.updated:,} updated" if res.updated else ""),
        highlight=False,
    )
    for note in rec.notes:
        err.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)


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
    from liucun.tasks.campaigns import plan_size

    s = plan_size(baseline_rate, mde, alpha, power, control_share, n)
    # --mde is a change of the conversion rate: percentage points (pp), not a percentage.
    console.print(
        f"to detect {points(mde)} on a {percent(baseline_rate, 2)} baseline (alpha {alpha}, "
        f"power {percent(power, 0)}, control share {percent(control_share, 0)}): treatment "
        f"{s['n_treatment']:,}, control {s['n_control']:,}, total {s['n_total']:,}",
        highlight=False,
    )
    console.print(
        f"with {s['n']:,} customers the minimum detectable effect is {points(s['mde_at_n'])} "
        f"(from a {percent(baseline_rate, 2)} to a "
        f"{_rate_after(baseline_rate, s['mde_at_n'])} conversion rate)",
        highlight=False,
    )


def _rate_after(baseline: float, change: object) -> str:
    """The conversion rate a change of ``change`` points leads to ("–" when unknown)."""
    return MISSING if missing(change) else percent(baseline + float(change), 2)  # type: ignore[arg-type]
