"""`liucun forecast`: expected units per item, category or the whole shop and day."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from liucun.cli._common import AsOf, console, err, open_workspace, show_or_write


def forecast_cmd(
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="item_id (or category, or neither for the shop), date, forecast, lo, hi "
            "(CSV or Parquet).",
        ),
    ] = None,
    as_of: AsOf = None,
    horizon: Annotated[int, typer.Option("--horizon", help="Days to forecast from --as-of.")] = 28,
    level: Annotated[
        str, typer.Option("--level", help="item, category (the items' category path) or shop.")
    ] = "item",
    interval: Annotated[
        float, typer.Option("--interval", help="Central interval of lo..hi, in (0, 1).")
    ] = 0.8,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print without --out.")] = 10,
) -> None:
    """Demand forecast: expected units sold per day over [as_of, as_of + horizon), with a
    central interval, by the shop's calendar day ([shop] timezone in liucun.toml)."""
    from liucun.outputs import check_output, write_frame
    from liucun.tasks.forecast import check_options, forecast
    from liucun.workspace import check_horizon, parse_as_of

    check_options(level, interval)
    check_horizon(horizon)
    if out_file is not None:
        check_output(out_file)
    ws = open_workspace()
    day = parse_as_of(as_of, ws)
    with err.status("forecasting demand"):
        r = forecast(ws, day, horizon, level=level, interval=interval)
    if out_file is not None:
        write_frame(r.frame, out_file)
    st = r.stats
    console.print(
        f"forecast as of {day} ({st['timezone']}): {st['series']:,} {level} series × "
        f"{horizon} days, {st['total_forecast']:,.1f} units expected "
        f"({interval:.0%} intervals, {st['model']}, {st['history_days']:,} days of history)"
        + (f" → {out_file}" if out_file else ""),
        highlight=False,
    )
    if out_file is None:
        show_or_write(r.frame, None, "forecast", limit)
