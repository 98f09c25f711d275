"""What the command modules share: the consoles, the global options, --as-of, formatting."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console, ConsoleDimensions
from rich.table import Table as RichTable

if TYPE_CHECKING:
    from liucun.workspace import Workspace

# The width of output that goes to a file or a pipe: wide enough that no sentence, path or
# table row is ever cut, small enough that Rich's layout stays cheap.
PIPED_WIDTH = 4000
# How a missing number reads in every table (the same as liucun.look).
MISSING = "–"


class _Console(Console):
    """A Rich console that never hard-wraps output written to a file or a pipe.

    Rich lays out for 80 columns when its stream is not a terminal, so ``liucun ingest … |
    cat`` put "quarantined" and its count on two lines. Off a terminal the width is
    ``PIPED_WIDTH`` (tables still render, as wide as their content) unless ``COLUMNS``
    asks for one; on a terminal nothing changes. Decided per print, because the stream
    (``sys.stdout``) can be swapped after import (tests, redirection).
    """

    @property
    def size(self) -> ConsoleDimensions:
        dims = super().size
        if self._width is None and not self.is_terminal and "COLUMNS" not in self._environ:
            return ConsoleDimensions(PIPED_WIDTH, dims.height)
        return dims

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console = _Console()
err = _Console(stderr=True)
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


def missing(v: object) -> bool:
    """None, NaN, ±inf, NaT or pd.NA: a value a table shows as "–", never as "nan"."""
    if v is None:
        return True
    if isinstance(v, str | bytes) or getattr(v, "ndim", 0):  # text, or an array (a list)
        return False
    try:
        return bool(v != v) or v in (math.inf, -math.inf)
    except (TypeError, ValueError):  # pd.NA has no truth value
        return True


def fmt(v: object) -> str:
    """A table cell: floats with two decimals, lists joined, missing values as "–"."""
    if getattr(v, "ndim", 0):
        v = v.tolist()  # type: ignore[attr-defined]
    if isinstance(v, list | tuple):
        return ", ".join(map(str, v)) or MISSING
    if missing(v):
        return MISSING
    if isinstance(v, float):
        return f"{v:,.2f}"
    return str(v)


def num(v: object, spec: str = ",.2f") -> str:
    """``format(v, spec)``, or "–" for a missing value (never "nan")."""
    return MISSING if missing(v) else format(v, spec)


def notna(v: object) -> bool:
    return not missing(v)


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
