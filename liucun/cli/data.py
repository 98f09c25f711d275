"""Getting data in: ingest, quarantine, summary, samples and simulate.

Top-level commands are plain functions registered on the root app by ``liucun.cli``
(which fixes their order in ``--help``); the ``samples`` group is a sub-app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from liucun.cli._common import console, err, ingest_line, open_workspace
from liucun.errors import LiucunError

samples_app = typer.Typer(help="Real data sets shipped inside PyPI packages.", no_args_is_help=True)


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


def ingest(
    table: Annotated[
        str,
        typer.Argument(
            help="events, orders, order_items, users, items, reviews, treatments or inventory."
        ),
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
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="Text encoding: utf-8 (default), gbk, gb18030, latin-1..."),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            help="strftime layout of the file's timestamps, e.g. '%d/%m/%Y %H:%M' (default: "
            "ingest.date_format in liucun.toml, else detected per file).",
            show_default=False,
        ),
    ] = None,
    max_bad_share: Annotated[
        float | None,
        typer.Option(
            "--max-bad-share",
            min=0.0,
            max=1.0,
            help="Refuse the file (load nothing) when a larger share of its rows is bad "
            "(default: ingest.max_bad_share in liucun.toml, 0.5).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Validate a file and append it idempotently; bad rows go to quarantine."""
    ws = open_workspace()
    results = ws.ingest(
        table,
        file,
        format=format,
        mapping=_parse_map(map_ or []),
        tz=tz,
        strict=strict,
        sep=sep,
        encoding=encoding,
        date_format=date_format,
        max_bad_share=max_bad_share,
    )
    for r in results:
        console.print(ingest_line(r))
    for r in results:
        if r.quarantined:
            err.print(
                f"warning: {r.quarantined:,} {r.table} rows quarantined; first: "
                f"{r.first_problem} (see `liucun quarantine`)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


def quarantine(
    table: Annotated[str | None, typer.Option("--table", "-t", help="Only this table.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show.")] = 20,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write all rows to a CSV or Parquet file.")
    ] = None,
) -> None:
    """Show the rows that were rejected, and why."""
    from liucun.outputs import write_frame

    ws = open_workspace()
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


def summary() -> None:
    """Customers, orders, revenue and table sizes of the workspace."""
    s = open_workspace().warehouse.summary()
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

    ws = open_workspace()
    report = load_sample(ws, name)
    for r in report.results:
        console.print(ingest_line(r))
    for line in report.notes:
        console.print(line)


def _list_scenarios(value: bool) -> None:
    """``--list-scenarios``: print each world's name and description, then stop."""
    if not value:
        return
    from liucun.sim.scenarios import SCENARIOS

    t = RichTable(title="scenario worlds (liucun simulate --scenario NAME)")
    t.add_column("name")
    t.add_column("description")
    for sc in SCENARIOS.values():
        t.add_row(sc.name, sc.description)
    console.print(t)
    raise typer.Exit()


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
    scenario: Annotated[
        str,
        typer.Option("--scenario", help="The world to simulate (see --list-scenarios)."),
    ] = "default",
    list_scenarios: Annotated[
        bool,
        typer.Option(
            "--list-scenarios",
            is_eager=True,
            callback=_list_scenarios,
            expose_value=False,
            help="List the scenario worlds and exit.",
        ),
    ] = False,
) -> None:
    """Simulate a shop with known ground truth: canonical files plus truth/."""
    from liucun.sim import DEFAULT_START
    from liucun.sim import simulate as run_simulation
    from liucun.sim.scenarios import SCENARIOS

    first = _parse_date(start, "--start") if start else DEFAULT_START
    if lang not in ("zh", "en", "mixed"):
        raise LiucunError(f"--lang {lang}: expected zh, en or mixed")
    if scenario not in SCENARIOS:
        raise LiucunError(f"--scenario {scenario}: unknown; known: {', '.join(SCENARIOS)}")
    with err.status(
        f"simulating {users:,} customers over {days} + {holdout_days} days ({scenario})"
    ):
        r = run_simulation(
            out,
            users=users,
            days=days,
            holdout_days=holdout_days,
            seed=seed,
            start=first,
            lang=lang,
            scenario=scenario,
        )
    t = RichTable(title=f"simulated shop in {out} ({r.seconds:.1f} s, scenario {scenario})")
    for c in ("table", "history rows", "holdout rows"):
        t.add_column(c, justify="right" if c != "table" else "left")
    for name, n in r.counts.items():
        t.add_row(name, f"{n:,}", f"{r.holdout_counts.get(name, 0):,}")
    console.print(t)
    console.print(f"truth (for scoring only, never ingest it): {out / 'truth'}")


def _parse_date(value: str, option: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise LiucunError(f"{option} {value}: expected a date YYYY-MM-DD") from None
