"""What the command modules share: the consoles, the global options, --as-of, formatting."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

if TYPE_CHECKING:
    from liucun.workspace import Workspace

console = Console()
err = Console(stderr=True)
# The --as-of option most commands take.
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="YYYY-MM-DD (00:00 UTC); default: the day after the data."),
]


class State:
    """The root options (--workspace, --debug), set by the root callback."""

    workspace: Path | None = None
    debug: bool = False


state = State()


def open_workspace() -> Workspace:
    """The workspace that --workspace (or LIUCUN_WORKSPACE, or ./.liucun) names."""
    from liucun.workspace import Workspace

    return Workspace(state.workspace)


def ingest_line(r) -> str:
    """One load's counts: read = loaded + updated + duplicates + quarantined."""
    return (
        f"{r.table}: read {r.read:,} = loaded {r.loaded:,} + updated {r.updated:,} "
        f"+ duplicates {r.duplicates:,} + quarantined {r.quarantined:,}"
    )


def fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, list | tuple):
        return ", ".join(map(str, v)) or "-"
    return "-" if v is None else str(v)


def notna(v: object) -> bool:
    return v is not None and v == v


def show_or_write(df, out_file: Path | None, title: str, limit: int) -> None:
    """Write ``df`` to ``out_file`` when given, else print its first ``limit`` rows."""
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
        t.add_row(*(fmt(v) for v in row))
    console.print(t)
