"""A workspace: one folder holding the warehouse, settings, fitted models and run outputs."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liucun import config
from liucun.data.ingest import ingest
from liucun.errors import LiucunError
from liucun.warehouse import Warehouse

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
        ``warehouse.duckdb``, ``liucun.toml``, ``models/`` and ``runs/`` on first use.

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
        self.path.mkdir(parents=True, exist_ok=True)
        for sub in ("models", "runs"):
            (self.path / sub).mkdir(exist_ok=True)
        toml = self.path / "liucun.toml"
        if not toml.exists():
            toml.write_text(config.DEFAULT_TOML, encoding="utf-8")
        self._warehouse: Warehouse | None = None

    @property
    def config(self) -> dict[str, Any]:
        return config.load(self.path / "liucun.toml")

    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            wh = self.config["warehouse"]
            self._warehouse = Warehouse(
                self.path / "warehouse.duckdb",
                memory_limit=str(wh["memory_limit"]),
                threads=int(wh["threads"]),
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
    ) -> list[IngestResult]:
        """Validate and load a file idempotently; see :func:`liucun.data.ingest.ingest`."""

        cfg = self.config["ingest"]
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
