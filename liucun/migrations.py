"""Warehouse layout versions, and the steps that bring an older warehouse up to date.

The warehouse records its layout version in ``schema_version``: one row per change, with
when it happened. The release before versions were recorded wrote no such table; a file
that holds liucun tables but no ``schema_version`` is version 1.

Opening a warehouse for writing (:attr:`liucun.warehouse.Warehouse.con`) runs
:func:`upgrade`: a fresh file is created at :data:`SCHEMA_VERSION`; an older one is
migrated step by step in one transaction, so a failure or a killed process leaves it as
it was; a newer one (written by a later liucun) is refused, since this code cannot know
its layout. Read-only opens never migrate (:func:`check_readable`): they read any version
from :data:`READABLE_FROM` up to :data:`SCHEMA_VERSION`, since those share the tables
readers use.

Adding a layout change: write a step ``_vN_to_vN1(con)`` whose docstring says what
changed, register it in :data:`STEPS` under ``N``, raise :data:`SCHEMA_VERSION`, and make
the warehouse's DDL create the new layout. A step must tolerate a table that is missing
(a warehouse may predate the table); missing tables are created afterwards with the
current DDL. ``schema_version`` keeps its ``version`` column in every later layout, so
older code can always tell that a file is newer than it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from liucun.errors import LiucunError
from liucun.schema import META_COLUMNS, TABLES

# The layout this code writes. 1: the release before versions were recorded (no table).
SCHEMA_VERSION = 3
# The oldest layout read-only opens read as is (v1 to v3 hold the same tables, but for
# v3's new inventory, which readers look up by name before reading).
READABLE_FROM = 1

VERSION_TABLE = "schema_version"
VERSION_DDL = f"""
CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
    version INTEGER NOT NULL,
    applied_at TIMESTAMP NOT NULL,
    note VARCHAR
)"""

# How often opening retries when another connection of this process migrates the same
# file at the same moment (DuckDB then reports a write-write conflict).
CONFLICT_RETRIES = 20
CONFLICT_WAIT_S = 0.05

Step = Callable[[duckdb.DuckDBPyConnection], None]


def _v1_to_v2(con: duckdb.DuckDBPyConnection) -> None:
    """Record the layout version (table ``schema_version``); no table or row changes.

    Every other table already has its current layout in v1: the canonical tables, their
    histories, ``quarantine``, ``ingests`` and ``text_scores`` have had the same columns
    and types since the first release (ids VARCHAR as the file wrote them, ``properties``
    and ``attributes`` JSON text), so every row stays exactly as it is. ``text_scores``
    stays absent where it is: it is made when texts are first scored, and its absence is
    part of the warehouse fingerprint that decides whether saved models are reused.
    """
    con.execute(VERSION_DDL)


def _v2_to_v3(con: duckdb.DuckDBPyConnection) -> None:
    """Add table inventory (stock snapshots) and its history; no other table changes.

    The tables themselves are made by the warehouse's DDL after the steps (missing tables
    are created at the current layout), so this step only records the change.
    """


# Step from version N to N + 1, by N.
STEPS: dict[int, Step] = {1: _v1_to_v2, 2: _v2_to_v3}


def _summary(step: Step) -> str:
    """A step's docstring's first line: what it changed, as recorded in the warehouse."""
    return (step.__doc__ or step.__name__).strip().splitlines()[0].replace("``", "")


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = 'main'"
    ).fetchall()
    return {r[0] for r in rows}


def found_version(con: duckdb.DuckDBPyConnection, path: Path) -> int | None:
    """The layout version of an open warehouse file; ``None`` when it holds no liucun
    table yet (a new or empty file)."""
    names = _tables(con)
    if VERSION_TABLE in names:
        (version,) = con.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchall()[0]
        # An empty table is a creation that never committed its row: it cannot happen
        # through upgrade (one transaction), so the file was edited by hand.
        if version is None:
            raise LiucunError(f"{path}: {VERSION_TABLE} is empty: no schema version recorded")
        return int(version)
    if names & set(TABLES):
        return 1
    return None


def _newer(path: Path, version: int) -> LiucunError:
    return LiucunError(
        f"{path}: the warehouse is at schema version {version}, newer than version "
        f"{SCHEMA_VERSION} that this liucun supports (written by a later liucun); upgrade liucun"
    )


def check_readable(con: duckdb.DuckDBPyConnection, path: Path) -> int | None:
    """The version of a warehouse opened read-only, refused when this code cannot read it.

    Nothing is migrated here (a reader may not write, and may run beside a writer): a
    version from :data:`READABLE_FROM` to :data:`SCHEMA_VERSION` is read as it is.
    """
    version = found_version(con, path)
    if version is None:
        return None
    if version > SCHEMA_VERSION:
        raise _newer(path, version)
    if version < READABLE_FROM:
        raise LiucunError(
            f"{path}: the warehouse is at schema version {version}; this liucun reads "
            f"versions {READABLE_FROM} to {SCHEMA_VERSION} without migrating: run any liucun "
            f"command that writes, e.g. `liucun ingest`, to migrate it"
        )
    return version


def _expected_columns() -> dict[str, dict[str, str]]:
    """Table → column → DuckDB type of every canonical table and its history."""
    out: dict[str, dict[str, str]] = {}
    for name, table in TABLES.items():
        cols = {c.name: c.sql_type for c in table.columns} | dict(META_COLUMNS)
        out[name] = cols
        out[f"{name}_history"] = cols | {"_superseded_at": "TIMESTAMP"}
    return out


def check_layout(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse to record the current version on tables that do not have its layout.

    Columns a user added (to ``users``, say) are kept and allowed; a missing column or
    one of another type means the file is no warehouse liucun wrote.
    """
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main'"
    ).fetchall()
    found: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        found.setdefault(table, {})[column] = dtype
    for table, cols in _expected_columns().items():
        have = found.get(table, {})
        for column, dtype in cols.items():
            if have.get(column) != dtype:
                what = f"is {have[column]}" if column in have else "is missing"
                raise LiucunError(
                    f"{path}: table {table}: column {column} {what}, expected {dtype}: not a "
                    f"warehouse layout liucun knows (schema version {SCHEMA_VERSION})"
                )


def _record(con: duckdb.DuckDBPyConnection, version: int, note: str) -> None:
    con.execute(
        f"INSERT INTO {VERSION_TABLE} VALUES (?, timezone('UTC', now()), ?)", [version, note]
    )


def _apply(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    version: int | None,
    create: Callable[[duckdb.DuckDBPyConnection], None],
) -> None:
    """Create or migrate, inside the caller's transaction."""
    if version is None:
        create(con)
        con.execute(VERSION_DDL)
        _record(con, SCHEMA_VERSION, f"created at version {SCHEMA_VERSION}")
        return
    done: list[tuple[int, str]] = []
    for v in range(version, SCHEMA_VERSION):
        step = STEPS[v]
        step(con)
        done.append((v + 1, f"migrated from version {v}: {_summary(step)}"))
    create(con)  # tables the old warehouse never made, at the current layout
    check_layout(con, path)
    for v, note in done:
        _record(con, v, note)


def upgrade(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    create: Callable[[duckdb.DuckDBPyConnection], None],
) -> int:
    """Bring a warehouse opened for writing to :data:`SCHEMA_VERSION`; returns the
    version it was found at (``SCHEMA_VERSION`` for a fresh one).

    ``create`` runs the current layout's ``CREATE TABLE IF NOT EXISTS`` statements. All
    of it is one transaction: an exception (or a killed process) leaves the file as it
    was. A file already at the current version is only read.
    """
    for attempt in range(CONFLICT_RETRIES + 1):
        version = found_version(con, path)  # the common case, without a transaction
        if version == SCHEMA_VERSION:
            return version
        if version is not None and version > SCHEMA_VERSION:
            raise _newer(path, version)
        con.execute("BEGIN TRANSACTION")
        try:
            # Looked at again inside: another connection may have finished in between.
            version = found_version(con, path)
            if version is None or version < SCHEMA_VERSION:
                _apply(con, path, version, create)
        except duckdb.TransactionException:
            con.execute("ROLLBACK")
            if attempt == CONFLICT_RETRIES:
                raise
            time.sleep(CONFLICT_WAIT_S)  # another connection migrates it: look again
            continue
        except duckdb.Error as e:
            con.execute("ROLLBACK")
            what = (
                f"creating the warehouse at schema version {SCHEMA_VERSION}"
                if version is None
                else f"migrating from schema version {version} to {SCHEMA_VERSION}"
            )
            reason = str(e).strip().splitlines()[0]
            raise LiucunError(
                f"{path}: {what} failed, the warehouse is unchanged ({reason})"
            ) from None
        except BaseException:
            con.execute("ROLLBACK")
            raise
        if version is not None and version >= SCHEMA_VERSION:
            con.execute("ROLLBACK")  # nothing was done
            if version > SCHEMA_VERSION:
                raise _newer(path, version)
            return version
        try:
            con.execute("COMMIT")
        except duckdb.TransactionException:  # a conflict found at commit
            with contextlib.suppress(duckdb.Error):  # DuckDB has rolled it back already
                con.execute("ROLLBACK")
            if attempt == CONFLICT_RETRIES:
                raise
            time.sleep(CONFLICT_WAIT_S)
            continue
        return SCHEMA_VERSION if version is None else version
    raise AssertionError("unreachable")  # pragma: no cover
