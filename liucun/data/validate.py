"""Validation as SQL: one pass that parses every column and names each bad row's reason.

Given a SELECT that yields canonical column names (any types) plus ``_row``, build a
SELECT that yields the typed canonical columns plus ``_reason``/``_column`` (NULL for a
good row) and ``_raw`` (the row as given, JSON, for bad rows only). It all runs inside
the engine; Python only writes the expressions.
"""

from __future__ import annotations

from liucun.data.sources import ident
from liucun.schema import Column, Table
from liucun.warehouse import sql_str

# Tried in order after ISO-8601 (which TIMESTAMPTZ casting reads, with or without offset).
TS_FORMATS = (
    "%Y%m%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d/%b/%Y:%H:%M:%S",
)

NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "REAL",
)


def _is_numeric(ty: str) -> bool:
    return ty.upper().startswith(NUMERIC) or ty.upper().startswith("DECIMAL")


def _local_to_utc(x: str, tz: str) -> str:
    """A naive TIMESTAMP read in zone ``tz`` → naive UTC."""
    if tz.upper() == "UTC":
        return x
    return f"timezone('UTC', timezone({sql_str(tz)}, {x}))"


def _epoch(x: str) -> str:
    """Seconds or milliseconds since 1970 (told apart by size) → naive UTC."""
    v = f"TRY_CAST({x} AS DOUBLE)"
    # Beyond year ~2286 in milliseconds is no timestamp: NULL, so the row is quarantined.
    return (
        f"CASE WHEN abs({v}) < 1e13 THEN make_timestamp(CAST(CASE WHEN abs({v}) > 1e11 "
        f"THEN {v} * 1000 ELSE {v} * 1000000 END AS BIGINT)) END"
    )


def parse_ts(x: str, ty: str, tz: str) -> str:
    up = ty.upper()
    if up == "TIMESTAMP WITH TIME ZONE":
        return f"timezone('UTC', {x})"
    if up.startswith("TIMESTAMP"):
        return _local_to_utc(f"CAST({x} AS TIMESTAMP)", tz)
    if up == "DATE":
        return _local_to_utc(f"CAST({x} AS TIMESTAMP)", tz)
    if _is_numeric(ty):
        return _epoch(x)
    v = f"trim(CAST({x} AS VARCHAR))"
    fmts = "[" + ", ".join(sql_str(f) for f in TS_FORMATS) + "]"
    # Naive ISO strings cast to TIMESTAMPTZ are read in the session zone, set to --tz.
    return (
        f"CASE WHEN {v} IS NULL OR {v} = '' THEN NULL "
        f"WHEN regexp_full_match({v}, '-?[0-9]{{9,13}}(\\.[0-9]+)?') THEN {_epoch(v)} "
        f"ELSE coalesce(timezone('UTC', TRY_CAST({v} AS TIMESTAMPTZ)), "
        f"{_local_to_utc(f'try_strptime({v}, {fmts})', tz)}) END"
    )


def _present(x: str, ty: str) -> str:
    """SQL: the raw value was given (not NULL, not blank text)."""
    if ty.upper() == "VARCHAR":
        return f"({x} IS NOT NULL AND trim({x}) <> '')"
    return f"({x} IS NOT NULL)"


def _parse(col: Column, x: str, ty: str, tz: str) -> str:
    if col.kind == "id":
        return f"NULLIF(trim(CAST({x} AS VARCHAR)), '')"
    if col.kind == "text":
        return f"NULLIF(CAST({x} AS VARCHAR), '')"
    if col.kind == "ts":
        return parse_ts(x, ty, tz)
    if col.kind == "float":
        if _is_numeric(ty):
            return f"CAST({x} AS DOUBLE)"
        return f"TRY_CAST(NULLIF(trim(CAST({x} AS VARCHAR)), '') AS DOUBLE)"
    if col.kind == "int":
        if _is_numeric(ty):
            return f"CAST(round(CAST({x} AS DOUBLE)) AS BIGINT)"
        return f"CAST(round(TRY_CAST(NULLIF(trim(CAST({x} AS VARCHAR)), '') AS DOUBLE)) AS BIGINT)"
    if col.kind == "enum":
        v = f"NULLIF(lower(trim(CAST({x} AS VARCHAR))), '')"
        return f"coalesce({v}, {sql_str(col.default)})" if col.default else v
    if col.kind == "json":
        up = ty.upper()
        if up == "VARCHAR":
            return f"NULLIF(trim({x}), '')"
        if up == "JSON":
            return f"CAST({x} AS VARCHAR)"
        return f"CAST(to_json({x}) AS VARCHAR)"
    raise ValueError(col.kind)


def _checks(col: Column, x: str, ty: str, p: str, future: str) -> list[tuple[str, str]]:
    """(condition, reason SQL) pairs for one column, first match wins."""
    name = col.name
    given = _present(x, ty)
    shown = f"left(CAST({x} AS VARCHAR), 60)"
    out: list[tuple[str, str]] = []
    if col.required:
        out.append((f"NOT {given}", sql_str(f"missing {name}")))
    if col.kind == "ts":
        out.append((f"{given} AND {p} IS NULL", f"'unparsable timestamp ' || {shown}"))
        out.append((f"{p} > {future}", sql_str(f"{name} more than a day in the future")))
    elif col.kind in ("float", "int"):
        out.append((f"{given} AND {p} IS NULL", f"'non-numeric {name} ' || {shown}"))
        out.append(
            (f"isnan({p}) OR isinf({p})", sql_str(f"non-finite {name}"))
            if col.kind == "float"
            else ("false", "NULL")
        )
    elif col.kind == "enum":
        allowed = "[" + ", ".join(sql_str(v) for v in col.values) + "]"
        out.append(
            (
                f"{p} IS NOT NULL AND NOT list_contains({allowed}, {p})",
                f"'unknown {name} ' || {shown}",
            )
        )
    elif col.kind == "json" and ty.upper() == "VARCHAR":
        out.append((f"{p} IS NOT NULL AND NOT json_valid({p})", sql_str(f"{name} is not JSON")))
    return [c for c in out if c[0] != "false"]


def _row_rules(table: Table, p: dict[str, str]) -> list[tuple[str, str, str]]:
    """Rules across columns: (condition, column, reason)."""
    rules: list[tuple[str, str, str]] = []
    if table.name == "orders":
        paid = f"{p['status']} = 'paid'"
        rules.append((f"{paid} AND {p['amount']} < 0", "amount", "negative amount outside refunds"))
        if "quantity" in p:
            rules.append(
                (f"{paid} AND {p['quantity']} < 0", "quantity", "negative quantity outside refunds")
            )
        if "discount" in p:
            rules.append((f"{p['discount']} < 0", "discount", "negative discount"))
    if table.name == "order_items":
        if "quantity" in p:
            rules.append((f"{p['quantity']} < 0", "quantity", "negative quantity outside refunds"))
        if "price" in p:
            rules.append((f"{p['price']} < 0", "price", "negative price"))
    if table.name == "items" and "price" in p:
        rules.append((f"{p['price']} < 0", "price", "negative price"))
    if table.name == "treatments" and "cost" in p:
        rules.append((f"{p['cost']} < 0", "cost", "negative cost"))
    return rules


def validated_select(
    table: Table,
    src_sql: str,
    src_types: dict[str, str],
    tz: str = "UTC",
    future_hours: float = 24,
) -> str:
    """The typed, validated SELECT over ``src_sql`` (see the module docstring).

    ``src_types`` are the source's columns and types; canonical columns it lacks are
    NULL. Adapters may pre-judge rows with ``_reject_column``/``_reject_reason``.
    """
    future = f"(timezone('UTC', now()) + INTERVAL {float(future_hours)} HOUR)"
    parsed: list[str] = []
    p: dict[str, str] = {}
    conds: list[tuple[str, str, str]] = []  # (condition, column SQL literal, reason SQL)
    if "_reject_reason" in src_types:
        col = "src._reject_column" if "_reject_column" in src_types else "NULL"
        conds.append(("src._reject_reason IS NOT NULL", col, "src._reject_reason"))
    for col in table.columns:
        alias = f"_p_{col.name}"
        if col.name in src_types:
            x, ty = f"src.{ident(col.name)}", src_types[col.name]
            parsed.append(f"{_parse(col, x, ty, tz)} AS {alias}")
            p[col.name] = alias
            conds += [(c, sql_str(col.name), r) for c, r in _checks(col, x, ty, alias, future)]
        else:
            default = sql_str(col.default) if col.default else "NULL"
            parsed.append(f"CAST({default} AS {col.sql_type}) AS {alias}")
            p[col.name] = alias
    conds += [(c, sql_str(colname), sql_str(r)) for c, colname, r in _row_rules(table, p)]
    reason = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, _, r in conds) + " END"
    column = "CASE " + " ".join(f"WHEN {c} THEN {k}" for c, k, _ in conds) + " END"
    raw_cols = [c for c in src_types if c not in ("_row", "_reject_column", "_reject_reason")]
    raw = (
        "to_json(struct_pack(" + ", ".join(f"{ident(c)} := src.{ident(c)}" for c in raw_cols) + "))"
    )
    inner = (
        f"SELECT src._row AS _row, {', '.join(parsed)}, "
        f"{reason if conds else 'NULL'} AS _reason, {column if conds else 'NULL'} AS _column, "
        f"CASE WHEN _reason IS NOT NULL THEN CAST({raw} AS VARCHAR) END AS _raw "
        f"FROM ({src_sql}) src"
    )
    outer = ", ".join(
        f"CAST(_p_{c.name} AS {c.sql_type}) AS {ident(c.name)}" for c in table.columns
    )
    return f"SELECT _row, {outer}, _reason, _column, _raw FROM ({inner})"
