"""Sharing the results: demo, serve, the ``apikey`` group and report."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from liucun.cli._common import console, err, ingest_line, open_workspace


def demo(
    users: Annotated[int, typer.Option("--users", min=1, help="Customers to simulate.")] = 5000,
    days: Annotated[int, typer.Option("--days", min=1, help="Days of history.")] = 365,
    seed: Annotated[int, typer.Option("--seed", help="Simulation seed.")] = 7,
) -> None:
    """Simulate a shop into the workspace, load it, run every stage, write a report."""
    from liucun.demo import closing_lines, run_demo
    from liucun.workspace import DEFAULT_WORKSPACE

    ws = open_workspace()
    with err.status("starting") as status:
        r = run_demo(
            ws, users=users, days=days, seed=seed, on_step=lambda step: status.update(step)
        )
    for res in r.ingested:
        console.print(ingest_line(res))
    s = r.summary
    console.print(
        f"customers {s['customers']:,} · orders {s['tables']['orders']:,} · "
        f"revenue {s['revenue']:,.2f}"
    )
    if s.get("churn_check"):
        console.print(s["churn_check"], highlight=False)
    # The way back to this workspace: the default needs no --workspace.
    default = ws.path.resolve() == Path(DEFAULT_WORKSPACE).resolve()
    command = "liucun" if default else f"liucun --workspace {shlex.quote(str(ws.path.resolve()))}"
    for line in closing_lines(r, ws.path, command, "http://127.0.0.1:8000"):
        console.print(line, markup=False, highlight=False)


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
) -> None:
    """The REST API (/api, OpenAPI at /docs) and the dashboard (/) of the latest run."""
    import uvicorn

    from liucun.serve.app import create_app
    from liucun.serve.keys import KeyStore

    ws = open_workspace()
    if not any(k.revoked is None for k in KeyStore(ws.path).list()):
        err.print(
            "note: no API key yet: create one with `liucun apikey create NAME`",
            markup=False,
            highlight=False,
        )
    console.print(f"serving {ws.path} on http://{host}:{port} (docs at /docs)", highlight=False)
    uvicorn.run(create_app(ws.path), host=host, port=port)


apikey_app = typer.Typer(
    help="API keys for the REST API (stored as SHA-256 only).", no_args_is_help=True
)


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key, e.g. shop-backend.")],
) -> None:
    """A new key, printed once on the last line: store it now, it cannot be shown again."""
    from liucun.serve.keys import KeyStore

    key = KeyStore(open_workspace().path).create(name)
    print(f"API key {name!r} (shown once: only its SHA-256 is stored):")
    print(key)


@apikey_app.command("list")
def apikey_list() -> None:
    """Keys by name, when created and revoked (never the keys or their hashes)."""
    from liucun.serve.keys import KeyStore

    keys = KeyStore(open_workspace().path).list()
    if not keys:
        console.print("no API keys: create one with `liucun apikey create NAME`", markup=False)
        return
    t = RichTable(title="API keys")
    for c in ("name", "created", "revoked"):
        t.add_column(c, overflow="fold")
    for k in keys:
        t.add_row(k.name, k.created, k.revoked or "-")
    console.print(t)


@apikey_app.command("revoke")
def apikey_revoke(
    name: Annotated[str, typer.Argument(help="The key's name.")],
) -> None:
    """Revoke the active key of that name: requests with it get 403 from then on."""
    from liucun.serve.keys import KeyStore

    n = KeyStore(open_workspace().path).revoke(name)
    console.print(f"revoked {n} key{'s' if n != 1 else ''} named {name!r}", highlight=False)


def report_cmd(
    out_file: Annotated[Path, typer.Option("--out", help="The .html file to write.")] = Path(
        "report.html"
    ),
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
) -> None:
    """One self-contained HTML report of the latest run (opens offline; for email)."""
    from liucun.report import workspace_report

    path = workspace_report(open_workspace(), out_file, lang=lang)
    console.print(f"wrote {path}", highlight=False)
