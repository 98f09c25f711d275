"""``liucun recommend``: top-K items per customer, or one customer's list with reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from liucun.cli._common import AsOf, console, err, open_workspace
from liucun.errors import LiucunError


def recommend(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write recommendations to CSV or Parquet.")
    ] = None,
    as_of: AsOf = None,
    k: Annotated[
        int | None,
        # Rich reads [...] as markup: escaped, or "[recommend]" vanishes from --help.
        typer.Option("--k", help="Items per customer (default: \\[recommend] k in liucun.toml)."),
    ] = None,
    users_file: Annotated[
        Path | None, typer.Option("--users", help="Only these customers (user_id column).")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Print one customer's list with reasons.")
    ] = None,
) -> None:
    """Top-K items per customer (never already-consumed ones), or one customer's list."""
    from liucun.outputs import check_output, write_frame
    from liucun.tasks.recommend import read_users
    from liucun.tasks.recommend import recommend as recommend_items
    from liucun.workspace import parse_as_of

    if out_file is None and user is None:
        raise LiucunError("give --out FILE (every customer) or --user ID (one customer)")
    if out_file is not None:
        check_output(out_file)
    ws = open_workspace()
    day = parse_as_of(as_of, ws)
    users = [user] if user else (read_users(users_file) if users_file else None)
    with err.status("starting") as status:
        r = recommend_items(ws, day, k, users, on_step=status.update, known_only=bool(user))
    recs = r.recommendations
    if user:
        rec = r.model
        if user not in rec.user_index_:
            err.print(
                f"note: {user} has no item history before {day}: a cold-start list "
                f"({rec.cold_source} items), scored by that source",
                markup=False,
                highlight=False,
            )
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
