"""Generic CSV/TSV, Parquet and JSON-lines files already shaped like a canonical table."""

from __future__ import annotations

from pathlib import Path

import duckdb

from liucun.data.adapters.base import Adapter
from liucun.data.sources import SourceOptions, ident, read_file
from liucun.errors import SourceError
from liucun.schema import TABLES, get_table
from liucun.warehouse import sql_str

# Common source names for canonical columns, used only when the canonical name is absent.
ALIASES: dict[str, tuple[str, ...]] = {
    "user_id": ("userid", "customer_id", "customerid", "customer", "user", "visitor_id"),
    "ts": ("timestamp", "time", "event_time", "datetime", "created_at", "date"),
    "event_type": ("event", "event_name", "type", "behavior"),
    "item_id": ("itemid", "product_id", "productid", "sku"),
    "order_id": ("orderid", "transaction_id", "invoice", "invoice_id"),
    "amount": ("revenue", "total", "order_total", "amount_paid"),
    "signup_ts": ("signup", "signup_date", "registered_at", "created_at"),
    "campaign_id": ("campaign",),
}


def resolve_columns(found: list[str], table: str, mapping: dict[str, str]) -> dict[str, str]:
    """Source column → canonical column: ``--map`` first, then exact names, then aliases."""
    canon = TABLES[table].column_names
    lower = {c.lower().strip(): c for c in found}
    out: dict[str, str] = {}
    for src, dst in mapping.items():
        if dst not in canon:
            raise SourceError(
                f"--map {src}:{dst}: {table} has no column '{dst}' (columns: {', '.join(canon)})"
            )
        if src not in found and src.lower() not in lower:
            raise SourceError(
                f"--map {src}:{dst}: the file has no column '{src}' (columns: {', '.join(found)})"
            )
        out[src if src in found else lower[src.lower()]] = dst
    taken = set(out.values())
    for c in canon:
        if c in taken:
            continue
        for cand in (c, *ALIASES.get(c, ())):
            src = lower.get(cand)
            if src is not None and src not in out:
                out[src] = c
                break
    return out


class GenericAdapter(Adapter):
    name = "generic"
    tables = tuple(TABLES)
    description = "CSV/TSV, Parquet or JSON lines (gzip too) with canonical column names"

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.name = fmt  # type: ignore[misc]

    def prepare(
        self, con: duckdb.DuckDBPyConnection, path: Path, opts: SourceOptions
    ) -> dict[str, str]:
        found = read_file(con, path, self.fmt, sep=opts.sep, encoding=opts.encoding)
        cmap = resolve_columns(found, opts.table, opts.mapping)
        table = get_table(opts.table)
        missing = [c for c in table.required if c not in cmap.values()]
        if missing:
            raise SourceError(
                f"{path}: missing required column(s) {', '.join(missing)} for table "
                f"{table.name}; columns found: {', '.join(found) or 'none'} "
                f"(map names with --map SRC:DST)"
            )
        extras = [c for c in found if c not in cmap]
        own = next((s for s, d in cmap.items() if d == table.extras_column), None)
        # A row the reader could not take as written is quarantined with the reader's
        # reason; one whose properties cannot take the extra columns with its own.
        column, reason = "NULL", "_read_error"
        if table.extras_column and own and extras:
            value = f"NULLIF(trim(CAST({ident(own)} AS VARCHAR)), '')"
            clash = (
                f"_read_error IS NULL AND {value} IS NOT NULL AND json_valid({value}) "
                f"AND json_type({value}) <> 'OBJECT'"
            )
            why = sql_str(
                f"{table.extras_column} is not a JSON object, so the extra column(s) "
                f"{', '.join(extras)} cannot be added to it"
            )
            column = f"CASE WHEN {clash} THEN {sql_str(table.extras_column)} END"
            reason = f"CASE WHEN {clash} THEN {why} ELSE _read_error END"
        parts = ["_row", f"{column} AS _reject_column", f"{reason} AS _reject_reason"] + [
            f"{ident(src)} AS {ident(dst)}"
            for src, dst in cmap.items()
            if dst != table.extras_column
        ]
        if table.extras_column:
            expr = merged_extras(own, extras)
            if expr:
                parts.append(f"{expr} AS {ident(table.extras_column)}")
        return {opts.table: f"SELECT {', '.join(parts)} FROM _src"}


def merged_extras(own: str | None, extras: list[str]) -> str | None:
    """SQL: the row's own JSON object (``properties``) with the extra columns added.

    Extra columns are kept when ``properties`` is empty (they become the object). A
    ``properties`` that is not a JSON object is left as given, so validation quarantines
    the row with its reason rather than the extras replacing it or being dropped.
    """
    packed = None
    if extras:
        packed = (
            "CAST(to_json(struct_pack("
            + ", ".join(f"{ident(c)} := {ident(c)}" for c in extras)
            + ")) AS VARCHAR)"
        )
    if not own:
        return packed
    value = f"NULLIF(trim(CAST({ident(own)} AS VARCHAR)), '')"
    if not packed:
        return ident(own)
    is_object = f"(CASE WHEN json_valid({value}) THEN json_type({value}) END) = 'OBJECT'"
    return (
        f"CASE WHEN {value} IS NULL THEN {packed} "
        f"WHEN {is_object} THEN CAST(json_merge_patch("
        f"CASE WHEN {is_object} THEN {value} ELSE '{{}}' END, {packed}) AS VARCHAR) "
        f"ELSE {value} END"
    )
