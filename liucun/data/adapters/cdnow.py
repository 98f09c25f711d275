"""CDNOW (``CDNOW_master.txt``): customer id, YYYYMMDD date, number of CDs, dollar value.

The file is whitespace-aligned with CRLF line ends; the copy shipped in ``lifetimes`` has
a header line, the original does not. Each row is one order (orders the same day are
separate orders); there is no order id, so one is derived from the row's content.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from liucun.data.adapters.base import Adapter
from liucun.data.sources import SourceOptions, read_lines


class CdnowAdapter(Adapter):
    name = "cdnow"
    tables = ("orders",)
    description = "CDNOW_master.txt: customer, YYYYMMDD date, CD count, dollars"

    def prepare(
        self, con: duckdb.DuckDBPyConnection, path: Path, opts: SourceOptions
    ) -> dict[str, str]:
        # One text column per line; split on runs of blanks in SQL (no Python loop).
        read_lines(con, path, encoding=opts.encoding)
        fields = "regexp_split_to_array(trim(line), '\\s+')"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW _cdnow AS SELECT _line AS _row, {fields} AS f, "
            f"_read_error "
            f"FROM _lines WHERE line IS NOT NULL AND trim(line) <> ''"
        )
        # A header line (the lifetimes copy has one) is not data: number rows after it.
        return {
            "orders": (
                "SELECT _row - (SELECT count(*) FROM _cdnow WHERE f[1] = 'customer_id') AS _row, "
                "f[1] AS user_id, f[2] AS ts, "
                "f[3] AS quantity, f[4] AS amount, 'paid' AS status, "
                # A line the reader could not decode is quarantined with its reason.
                "CASE WHEN _read_error IS NOT NULL THEN 'line' WHEN len(f) <> 4 THEN 'line' "
                "WHEN NOT regexp_full_match(f[2], '[0-9]{8}') THEN 'ts' END AS _reject_column, "
                "CASE WHEN _read_error IS NOT NULL THEN _read_error "
                "WHEN len(f) <> 4 THEN 'expected 4 fields, found ' || len(f) "
                "WHEN NOT regexp_full_match(f[2], '[0-9]{8}') THEN 'date not YYYYMMDD: ' || f[2] "
                "END AS _reject_reason "
                "FROM _cdnow WHERE f[1] <> 'customer_id'"
            )
        }
