"""Validation as SQL: one pass that parses every column and names each bad row's reason.

Given a SELECT that yields canonical column names (any types) plus ``_row``, build a
SELECT that yields the typed canonical columns plus ``_reason``/``_column`` (NULL for a
good row) and ``_raw`` (the row as given, JSON, for bad rows only). It all runs inside
the engine; Python only writes the expressions.
"""

from __future__ import annotations

from collections.abc import Mapping

from liucun.data.sources import ident
from liucun.schema import Column, Table
from liucun.warehouse import sql_str

# Tried in order after ISO-8601 (which TIMESTAMPTZ casting reads, with or without offset).
# Unambiguous layouts only: the order of day and month in ``01/02/2024`` is settled per file
# and column (:func:`date_order_sql`), and its formats come from :func:`dmy_formats`.
TS_FORMATS = (
    "%Y%m%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d/%b/%Y:%H:%M:%S",
)
_TIMES = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")
DATE_ORDERS = ("day-first", "month-first")
# ``d/m/yyyy``, ``d.m.yyyy`` or ``d-m-yyyy`` at the start of a value: groups 1 and 2.
DMY_RE = r"^\s*([0-9]{1,2})[/.-]([0-9]{1,2})[/.-][0-9]{4}"
# A clock time followed by an offset (``10:00 +0800``, ``10:00:00+08:00``): groups 1 and 2.
_OFFSET_RE = r"([0-9]:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)\s*([+-][0-9]{2}:?[0-9]{2}|Z)$"


def dmy_formats(order: str) -> tuple[str, ...]:
    """strptime formats of slash/dot/dash dates read ``day-first`` or ``month-first``."""
    first, second = ("%d", "%m") if order == "day-first" else ("%m", "%d")
    out: list[str] = []
    for sep in ("/", ".", "-"):
        day = f"{first}{sep}{second}{sep}%Y"
        out += [f"{day} {t}" for t in _TIMES] + [day]
    return tuple(out)


def date_order_sql(x: str, src_sql: str) -> str:
    """SQL: over a text column of ``src_sql``, how many ``a/b/yyyy`` values settle
    day-first (a > 12), month-first (b > 12) or neither, each with its first example and
    row. Only values with a separator 2nd or 3rd reach the regular expression, so an ISO
    or epoch column costs one cheap scan."""
    v = f"CAST({x} AS VARCHAR)"
    # a separator 2nd or 3rd, or a leading space (LIKE: cheaper than substr per row)
    pre = " OR ".join(f"v LIKE '{u}{c}%'" for c in "/.-" for u in ("_", "__")) + " OR v LIKE ' %'"
    parts = f"regexp_extract(v, {sql_str(DMY_RE)}, ['a', 'b'])"
    day = "(a > 12 AND b <= 12)"
    month = "(b > 12 AND a <= 12)"
    both = "(a <= 12 AND b <= 12)"
    return (
        f"SELECT count(*) FILTER (WHERE {day}), count(*) FILTER (WHERE {month}), "
        f"count(*) FILTER (WHERE {both}), "
        f"arg_min(v, _row) FILTER (WHERE {day}), min(_row) FILTER (WHERE {day}), "
        f"arg_min(v, _row) FILTER (WHERE {month}), min(_row) FILTER (WHERE {month}), "
        f"arg_min(v, _row) FILTER (WHERE {both}) "
        f"FROM (SELECT _row, v, TRY_CAST(p.a AS INTEGER) AS a, TRY_CAST(p.b AS INTEGER) AS b "
        f"FROM (SELECT _row, v, {parts} AS p FROM (SELECT _row, {v} AS v FROM ({src_sql})) "
        f"WHERE {pre}))"
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


def _zoned(fmt: str) -> bool:
    return "%z" in fmt or "%Z" in fmt


def parse_ts(
    x: str, ty: str, tz: str, formats: tuple[str, ...] = TS_FORMATS, user_format: str | None = None
) -> str:
    """SQL: a source value → naive UTC, NULL when unreadable.

    Text is tried as epoch seconds/ms, then ISO-8601 (an offset such as ``+0800`` or
    ``+08:00``, with or without a space before it, is applied), then ``formats``; a format
    with ``%z`` reads the value's own offset, any other is read in ``tz``. A
    ``user_format`` (``--date-format``) replaces ``formats`` and is tried before ISO-8601.
    """
    up = ty.upper()
    if up == "TIMESTAMP WITH TIME ZONE":
        return f"timezone('UTC', {x})"
    if up.startswith("TIMESTAMP"):
        return _local_to_utc(f"CAST({x} AS TIMESTAMP)", tz)
    if up == "DATE":
        return _local_to_utc(f"CAST({x} AS TIMESTAMP)", tz)
    if _is_numeric(ty):
        return _epoch(x)
    fmts = (user_format,) if user_format else formats
    v = f"trim(CAST({x} AS VARCHAR))"
    spaced = f"regexp_replace({v}, {sql_str(_OFFSET_RE)}, '\\1 \\2')"
    joined = f"regexp_replace({v}, {sql_str(_OFFSET_RE)}, '\\1\\2')"
    # Naive ISO strings cast to TIMESTAMPTZ are read in the session zone, set to --tz.
    tries = [
        f"timezone('UTC', TRY_CAST({v} AS TIMESTAMPTZ))",
        f"timezone('UTC', TRY_CAST({joined} AS TIMESTAMPTZ))",
    ]
    naive = [f for f in fmts if not _zoned(f)]
    zoned = [f for f in fmts if _zoned(f)]
    # The naive layouts with a clock, followed by an offset: ``02/01/2024 10:00 +0800``.
    offset = [f"{f} %z" for f in naive if "%H" in f or "%I" in f]
    if naive:
        tries.append(_local_to_utc(f"try_strptime({v}, {_list(naive)})", tz))
    if zoned:
        tries.append(f"timezone('UTC', try_strptime({v}, {_list(zoned)}))")
    if offset:
        tries.append(f"timezone('UTC', try_strptime({spaced}, {_list(offset)}))")
    if user_format:
        tries = tries[2:] + tries[:2]  # what the user said comes first
    return (
        f"CASE WHEN {v} IS NULL OR {v} = '' THEN NULL "
        f"WHEN regexp_full_match({v}, '-?[0-9]{{9,13}}(\\.[0-9]+)?') THEN {_epoch(v)} "
        f"ELSE coalesce({', '.join(tries)}) END"
    )


def _list(fmts: list[str]) -> str:
    return "[" + ", ".join(sql_str(f) for f in fmts) + "]"


def _present(x: str, ty: str) -> str:
    """SQL: the raw value was given (not NULL, not blank text)."""
    if ty.upper() == "VARCHAR":
        return f"({x} IS NOT NULL AND trim({x}) <> '')"
    return f"({x} IS NOT NULL)"


# A currency sign or code before or after a number: ``$``, ``US$``, ``¥``, ``€``, ``USD``, ``元``.
_CUR = r"(?:[A-Z]{0,3}[$¥€£₹₩￥]|[A-Z]{3}|元)"
# Money as exports write it, unambiguous forms only: an optional sign and currency, digits
# with ``,`` thousands groups and a ``.`` decimal. ``12,50`` (a decimal comma?) is not one.
MONEY_RE = (
    rf"^([+-]?)\s*{_CUR}?\s*([+-]?)\s*"
    r"((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+)"
    rf"\s*{_CUR}?$"
)


def parse_number(x: str) -> str:
    """SQL: text → DOUBLE: plain numbers, else money forms (:data:`MONEY_RE`), else NULL."""
    v = f"NULLIF(trim(CAST({x} AS VARCHAR)), '')"
    m = sql_str(MONEY_RE)
    sign = f"regexp_extract({v}, {m}, 1) || regexp_extract({v}, {m}, 2)"
    digits = f"replace(regexp_extract({v}, {m}, 3), ',', '')"
    money = (
        f"CASE WHEN regexp_full_match({v}, {m}) AND length({sign}) <= 1 THEN "
        f"CAST({digits} AS DOUBLE) * CASE WHEN {sign} = '-' THEN -1 ELSE 1 END END"
    )
    return f"coalesce(TRY_CAST({v} AS DOUBLE), {money})"


def _parse(
    col: Column,
    x: str,
    ty: str,
    tz: str,
    formats: tuple[str, ...] = TS_FORMATS,
    user_format: str | None = None,
    synonyms: Mapping[str, str] | None = None,
) -> str:
    if col.kind == "id":
        return f"NULLIF(trim(CAST({x} AS VARCHAR)), '')"
    if col.kind == "text":
        return f"NULLIF(CAST({x} AS VARCHAR), '')"
    if col.kind == "ts":
        return parse_ts(x, ty, tz, formats, user_format)
    if col.kind == "float":
        if _is_numeric(ty):
            return f"CAST({x} AS DOUBLE)"
        return parse_number(x)
    if col.kind == "int":
        d = f"CAST({x} AS DOUBLE)" if _is_numeric(ty) else parse_number(x)
        # NaN, inf or beyond BIGINT: NULL here, quarantined by its check; a fraction is
        # quarantined too (a quantity of 2.5 is not rounded to 3), so the cast to BIGINT
        # of a loaded value is exact.
        return f"CASE WHEN abs({d}) < 9.2e18 THEN {d} END"
    if col.kind == "enum":
        v = f"NULLIF(lower(trim(CAST({x} AS VARCHAR))), '')"
        if synonyms:
            whens = " ".join(
                f"WHEN {sql_str(k.strip().lower())} THEN {sql_str(t)}"
                for k, t in sorted(synonyms.items())
            )
            # Canonical values (nearly every row) skip the list of synonyms.
            canon = ", ".join(sql_str(c) for c in col.values)
            v = f"CASE WHEN {v} IN ({canon}) THEN {v} ELSE CASE {v} {whens} ELSE {v} END END"
        return f"coalesce({v}, {sql_str(col.default)})" if col.default else v
    if col.kind == "json":
        up = ty.upper()
        if up == "VARCHAR":
            return f"NULLIF(trim({x}), '')"
        if up == "JSON":
            return f"CAST({x} AS VARCHAR)"
        return f"CAST(to_json({x}) AS VARCHAR)"
    raise ValueError(col.kind)


def _checks(
    col: Column, x: str, ty: str, p: str, future: str, max_amount: float | None = None
) -> list[tuple[str, str]]:
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
        out.append(
            (f"{p} < TIMESTAMP '1970-01-01'", f"'{name} before 1970: ' || CAST({p} AS VARCHAR)")
        )
    elif col.kind in ("float", "int"):
        comma = (
            f"CASE WHEN regexp_matches(CAST({x} AS VARCHAR), '[0-9],[0-9]') THEN "
            '\' (a decimal comma? "," is read only as a thousands separator, "." as the '
            "decimal point)' ELSE '' END"
        )
        if col.kind == "int" and _is_numeric(ty):  # NaN in a float column of quantities
            bad = f"'non-finite {name} ' || {shown}"
            out.append((f"{given} AND NOT isfinite(CAST({x} AS DOUBLE))", bad))
        if col.kind == "int":
            out.append((f"{p} <> trunc({p})", f"'non-integer {name} ' || {shown}"))
        out.append((f"{given} AND {p} IS NULL", f"'non-numeric {name} ' || {shown} || {comma}"))
        if col.kind == "float":
            out.append((f"isnan({p}) OR isinf({p})", f"'non-finite {name} ' || {shown}"))
        if max_amount is not None:
            out.append(
                (
                    f"abs({p}) > {float(max_amount)!r}",
                    f"'{name} ' || {shown} || ' above the ceiling {max_amount:,.15g} "
                    "([ingest] max_amount in liucun.toml)'",
                )
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
    return out


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
    if table.name == "inventory":
        # Stock cannot be below zero: a negative count is a backorder or an export error.
        for col in ("on_hand", "on_order", "lead_time_days"):
            rules.append((f"{p[col]} < 0", col, f"negative {col}"))
    return rules


def validated_select(
    table: Table,
    src_sql: str,
    src_types: dict[str, str],
    tz: str = "UTC",
    future_hours: float = 24,
    *,
    date_formats: Mapping[str, tuple[str, ...]] | None = None,
    user_format: str | None = None,
    synonyms: Mapping[str, Mapping[str, str]] | None = None,
    max_amount: float | None = None,
) -> str:
    """The typed, validated SELECT over ``src_sql`` (see the module docstring).

    ``src_types`` are the source's columns and types; canonical columns it lacks are
    NULL. A reader may mark unreadable rows with ``_read_error``, an adapter pre-judge
    rows with ``_reject_column``/``_reject_reason``. ``date_formats`` are the strptime
    layouts settled per timestamp column (default :data:`TS_FORMATS`), ``user_format``
    the user's ``--date-format``, ``synonyms`` per enum column source value → canonical,
    and numbers above ``max_amount`` are quarantined.
    """
    future = f"(timezone('UTC', now()) + INTERVAL {float(future_hours)} HOUR)"
    parsed: list[str] = []
    p: dict[str, str] = {}
    conds: list[tuple[str, str, str]] = []  # (condition, column SQL literal, reason SQL)
    if "_read_error" in src_types:
        conds.append(("src._read_error IS NOT NULL", "NULL", "src._read_error"))
    if "_reject_reason" in src_types:
        col = "src._reject_column" if "_reject_column" in src_types else "NULL"
        conds.append(("src._reject_reason IS NOT NULL", col, "src._reject_reason"))
    trimmed: list[str] = []  # each text column trimmed once, shared by its parse and checks
    for col in table.columns:
        alias = f"_p_{col.name}"
        if col.name in src_types:
            x, ty = f"src.{ident(col.name)}", src_types[col.name]
            fmts = (date_formats or {}).get(col.name, TS_FORMATS)
            syn = (synonyms or {}).get(col.name)
            sql = [_parse(col, x, ty, tz, fmts, user_format, syn)]
            checks = _checks(col, x, ty, alias, future, max_amount)
            sql += [part for c, r in checks for part in (c, r)]
            if ty.upper() == "VARCHAR":
                t = f"src.{ident('_t_' + col.name)}"
                trimmed.append(f"trim({x}) AS {ident('_t_' + col.name)}")
                sql = [
                    q.replace(f"trim(CAST({x} AS VARCHAR))", t).replace(f"trim({x})", t)
                    for q in sql
                ]
            parsed.append(f"{sql[0]} AS {alias}")
            p[col.name] = alias
            conds += [(c, sql_str(col.name), r) for c, r in zip(sql[1::2], sql[2::2], strict=True)]
        else:
            default = sql_str(col.default) if col.default else "NULL"
            parsed.append(f"CAST({default} AS {col.sql_type}) AS {alias}")
            p[col.name] = alias
    conds += [(c, sql_str(colname), sql_str(r)) for c, colname, r in _row_rules(table, p)]
    reason = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, _, r in conds) + " END"
    column = "CASE " + " ".join(f"WHEN {c} THEN {k}" for c, k, _ in conds) + " END"
    meta = ("_row", "_reject_column", "_reject_reason", "_read_error")
    raw_cols = [c for c in src_types if c not in meta]
    raw = (
        "to_json(struct_pack(" + ", ".join(f"{ident(c)} := src.{ident(c)}" for c in raw_cols) + "))"
    )
    # Three levels, so that each parsed value is bound, planned and computed once (an
    # alias used in the same SELECT is expanded into a copy of its whole expression): the
    # parsed values; the reason over them; the column and the raw row for rows with one.
    if trimmed:
        src_sql = f"SELECT src.*, {', '.join(trimmed)} FROM ({src_sql}) src"
    parsed_sql = f"SELECT src.*, {', '.join(parsed)} FROM ({src_sql}) src"
    judged = f"SELECT *, {reason if conds else 'NULL'} AS _reason FROM ({parsed_sql}) src"
    inner = (
        f"SELECT src._row AS _row, {', '.join(p[c.name] for c in table.columns)}, _reason, "
        f"CASE WHEN _reason IS NOT NULL THEN {column if conds else 'NULL'} END AS _column, "
        f"CASE WHEN _reason IS NOT NULL THEN CAST({raw} AS VARCHAR) END AS _raw "
        f"FROM ({judged}) src"
    )
    outer = ", ".join(
        f"CAST(_p_{c.name} AS {c.sql_type}) AS {ident(c.name)}" for c in table.columns
    )
    return f"SELECT _row, {outer}, _reason, _column, _raw FROM ({inner})"
