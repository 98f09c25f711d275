"""A workspace: one folder holding the warehouse, settings, fitted models and run outputs."""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from liucun import config
from liucun.data.ingest import check_synonyms, ingest
from liucun.errors import LiucunError
from liucun.warehouse import Warehouse, sql_str

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from liucun.data.ingest import IngestResult

DEFAULT_WORKSPACE = ".liucun"


def default_path() -> Path:
    return Path(os.environ.get("LIUCUN_WORKSPACE") or DEFAULT_WORKSPACE)


class Workspace:
    """The Python API's entry point, mirroring the CLI.

    Parameters
    ----------
    path
        The workspace folder (default ``$LIUCUN_WORKSPACE`` or ``./.liucun``); created with
        ``warehouse.duckdb``, ``liucun.toml``, ``models/`` and ``runs/`` on first use. A
        warehouse an older liucun wrote is migrated in place when it is first opened for
        writing (:mod:`liucun.migrations`); one a newer liucun wrote is refused.

    Examples
    --------
    >>> import tempfile, liucun
    >>> ws = liucun.Workspace(tempfile.mkdtemp())
    >>> sorted(p.name for p in ws.path.iterdir())
    ['liucun.toml', 'models', 'runs']
    >>> ws.table("orders").count().execute()
    0
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        if self.path.exists() and not self.path.is_dir():
            raise LiucunError(
                f"workspace {self.path}: is a file, not a folder (--workspace or "
                f"LIUCUN_WORKSPACE names the workspace folder)"
            )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            for sub in ("models", "runs"):
                (self.path / sub).mkdir(exist_ok=True)
            toml = self.path / "liucun.toml"
            if not toml.exists():
                toml.write_text(config.DEFAULT_TOML, encoding="utf-8")
        except OSError as e:
            raise LiucunError(
                f"workspace {self.path}: cannot create it ({e.strerror or e})"
            ) from None
        self._warehouse: Warehouse | None = None

    @property
    def config(self) -> dict[str, Any]:
        return config.load(self.path / "liucun.toml")

    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            wh = self.config["warehouse"]
            memory = str(wh["memory_limit"])
            try:  # checked here: the warehouse applies it only when it first connects
                duckdb.sql(f"SET memory_limit={sql_str(memory)}")
            except duckdb.Error:
                raise LiucunError(
                    f"{self.path / 'liucun.toml'}: [warehouse] memory_limit = {memory!r}: "
                    f'expected a size such as "2GB" or "500MB"'
                ) from None
            self._warehouse = Warehouse(
                self.path / "warehouse.duckdb",
                memory_limit=memory,
                threads=int(wh["threads"]),
                lock_timeout_s=float(wh["lock_timeout_s"]),
            )
        return self._warehouse

    def ingest(
        self,
        table: str,
        path: str | Path,
        format: str | None = None,
        mapping: dict[str, str] | None = None,
        tz: str | None = None,
        strict: bool = False,
        sep: str | None = None,
        encoding: str | None = None,
        date_format: str | None = None,
        max_bad_share: float | None = None,
    ) -> list[IngestResult]:
        """Validate and load a file idempotently; see :func:`liucun.data.ingest.ingest`.

        ``date_format`` and ``max_bad_share`` default to ``[ingest]`` in ``liucun.toml``.
        """
        cfg = self.config["ingest"]
        toml = self.path / "liucun.toml"
        return ingest(
            self.warehouse,
            table,
            path,
            fmt=format,
            mapping=mapping,
            tz=tz or str(cfg["timezone"]),
            strict=strict,
            future_hours=float(cfg["future_tolerance_hours"]),
            sep=sep,
            encoding=encoding,
            date_format=date_format or str(cfg["date_format"]) or None,
            max_bad_share=float(cfg["max_bad_share"] if max_bad_share is None else max_bad_share),
            max_amount=float(cfg["max_amount"]),
            status_synonyms=check_synonyms(cfg["status_synonyms"], str(toml)),
        )

    def table(self, name: str) -> ir.Table:
        """A warehouse table as an Ibis expression (the engine boundary)."""
        return self.warehouse.table(name)

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_as_of(value: str | dt.date | None, ws: Workspace) -> dt.date:
    """``--as-of``: a date; by default the day after the newest row in the warehouse."""
    if isinstance(value, dt.date):
        return value
    if value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise LiucunError(f"--as-of {value}: expected a date YYYY-MM-DD") from None
    last = ws.warehouse.last_activity()
    if last is None:
        raise LiucunError("the warehouse is empty: ingest data first (see `liucun ingest`)")
    return last.date() + dt.timedelta(days=1)


# Outcome windows beyond ten years are no forecast a shop can act on (and cost minutes).
MAX_HORIZON_DAYS = 3650


def check_horizon(days: int) -> int:
    """``--horizon``: at least a day and at most :data:`MAX_HORIZON_DAYS`."""
    if days < 1:
        raise LiucunError(f"--horizon {days}: must be at least 1 day")
    if days > MAX_HORIZON_DAYS:
        raise LiucunError(f"--horizon {days}: at most {MAX_HORIZON_DAYS} days (ten years)")
    return days


def check_budget(budget: float) -> float:
    """``--budget``: a positive, finite amount of money."""
    if not (math.isfinite(budget) and budget > 0):
        raise LiucunError(f"--budget {budget}: must be a positive, finite amount")
    return budget


def stale_as_of(ws: Workspace, as_of: dt.date, horizon: int) -> str | None:
    """A warning when ``as_of`` lies more than a horizon after the newest row: every
    customer then looks lapsed, which says more about the date than about them."""
    last = ws.warehouse.last_activity()
    if last is None or as_of <= last.date() + dt.timedelta(days=horizon):
        return None
    gap = (as_of - last.date()).days
    return (
        f"--as-of {as_of} is {gap} days after the newest data ({last.date()}), more than the "
        f"{horizon}-day horizon: every customer will look lapsed"
    )
