"""The ``liucun`` command: parses, calls the Python API, prints. No logic lives here.

Each module holds the commands of one area (``data``, ``scores``, ``backtest``, ``recs``,
``plan``, ``text``, ``serve``); this one builds the root app, registers them in the order
``liucun --help`` lists them, and turns errors into one line on stderr. The command bodies
import the heavy task modules when they run, so ``liucun --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from liucun.cli import (
    backtest,
    data,
    forecast,
    inventory,
    plan,
    pricing,
    recs,
    scores,
    serve,
    text,
)
from liucun.cli._common import err, state
from liucun.errors import LiucunError

app = typer.Typer(
    name="liucun",
    help="liucun (留存): a retention engine for e-commerce shops.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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


# Commands first, then the groups: the order `liucun --help` shows.
app.command()(data.ingest)
app.command()(data.quarantine)
app.command()(data.summary)
app.command()(data.simulate)
app.command()(serve.demo)
app.command("run")(scores.run_cmd)
app.command()(scores.segments)
app.command()(scores.profile)
app.command()(scores.score)
app.command()(backtest.backtest)
app.command()(recs.recommend)
app.command()(plan.plan)
app.command()(scores.alerts)
app.command()(serve.serve)
app.command("risk")(scores.risk_cmd)
app.command("forecast")(forecast.forecast_cmd)
app.command("inventory")(inventory.inventory_cmd)
app.command("pricing")(pricing.pricing_cmd)
app.command("assist")(text.assist_cmd)
app.command("report")(serve.report_cmd)
app.add_typer(data.samples_app, name="samples")
app.add_typer(plan.campaign_app, name="campaign")
app.add_typer(serve.apikey_app, name="apikey")
app.add_typer(text.sentiment_app, name="sentiment")
app.add_typer(text.reviews_app, name="reviews")


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
