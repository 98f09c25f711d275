"""`liucun inventory`: stock alerts and reorder quantities per item."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from liucun.cli._common import AsOf, console, err, open_workspace, show_or_write


def inventory_cmd(
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="item_id, on_hand, daily_demand, days_of_cover, safety_stock, reorder_point, "
            "order_qty, stockout_date, alert (CSV or Parquet).",
        ),
    ] = None,
    as_of: AsOf = None,
    limit: Annotated[int, typer.Option("--limit", help="Items to print without --out.")] = 10,
) -> None:
    """Stock alerts per item (stockout_risk, overstock, ok) with safety stock, reorder point
    and how much to order, from the demand forecast over the lead time ([inventory] in
    liucun.toml)."""
    from liucun.outputs import check_output, write_frame
    from liucun.tasks.inventory import inventory
    from liucun.workspace import parse_as_of

    if out_file is not None:
        check_output(out_file)
    ws = open_workspace()
    day = parse_as_of(as_of, ws)
    with err.status("forecasting demand and checking stock"):
        r = inventory(ws, day)
    if out_file is not None:
        write_frame(r.frame, out_file)
    st = r.stats
    console.print(
        f"inventory as of {day}: {st['items']:,} items, stockout_risk {st['stockout_risk']:,}, "
        f"overstock {st['overstock']:,}, ok {st['ok']:,}; {st['to_order']:,} to order "
        f"({st['units_to_order']:,} units)" + (f" → {out_file}" if out_file else ""),
        highlight=False,
    )
    if st["without_forecast"]:
        err.print(
            f"note: {st['without_forecast']:,} items with stock had no sales in the forecast's "
            "history: counted as no expected demand",
            markup=False,
            highlight=False,
        )
    if out_file is None:
        show_or_write(r.frame, None, "items needing attention first", limit)
