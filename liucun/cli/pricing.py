"""Price elasticity and discount depth per category and item: ``liucun pricing``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from liucun.cli._common import AsOf, console, err, open_workspace


def pricing_cmd(
    out_file: Annotated[
        Path,
        typer.Option(
            "--out",
            help="level, category, item_id, elasticity, lo, hi, n_price_changes, "
            "suggested_discount, note.",
        ),
    ],
    as_of: AsOf = None,
) -> None:
    """Own-price elasticity per category (and item) with a margin-safe discount depth."""
    from liucun.outputs import check_output, write_frame
    from liucun.tasks.pricing import pricing
    from liucun.workspace import parse_as_of

    check_output(out_file)
    ws = open_workspace()
    day = parse_as_of(as_of, ws)
    with err.status("estimating price elasticities"):
        r = pricing(ws, day)
    write_frame(r.frame, out_file)
    st = r.stats
    console.print(
        f"pricing as of {day}: {st['categories']:,} categories "
        f"({st.get('categories_estimated', 0):,} with enough price variation), "
        f"{st.get('items_estimated', 0):,} items estimated, "
        f"{st.get('discounts', 0):,} discounts suggested → {out_file}",
        highlight=False,
    )
    if st.get("note"):
        err.print(f"note: {st['note']}", markup=False, highlight=False)
