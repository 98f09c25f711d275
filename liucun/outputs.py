"""Run outputs as files and as JSON: result tables written to the files users asked for
(CSV or Parquet by extension), and frames turned into JSON-ready records.

The JSON helpers live here, at the lowest layer that writes outputs, so the pipeline
(``dashboard.json``), the API, the dashboard and the report share one definition.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from liucun.errors import LiucunError

FORMATS = (".csv", ".parquet", ".pq")


def check_output(path: str | Path) -> Path:
    """Reject an unknown output format before any work is done."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise LiucunError(f"{path}: unknown output format '{path.suffix}' (use .csv or .parquet)")
    return path


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as CSV or Parquet, chosen by the file's extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix in (".parquet", ".pq"):
        df.to_parquet(path, index=False)
    else:
        raise LiucunError(f"{path}: unknown output format '{suffix}' (use .csv or .parquet)")
    return path


# -- JSON --------------------------------------------------------------------------------


def json_value(v: Any) -> Any:
    """One cell, JSON-ready: NaN/NaT/NA → None, numpy scalars and timestamps → Python.

    Shallow and cheap (what a request does per value); other values pass as they are.
    """
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.isoformat()
    if isinstance(v, float) and v != v:
        return None
    return None if v is pd.NaT or v is pd.NA else v


def clean(v: Any) -> Any:
    """Plain JSON, all the way down: numpy scalars → Python, NaN/inf → None, dates → ISO
    text, anything else unknown → its text (what a JSON file written by a run holds)."""
    if isinstance(v, Mapping):
        return {str(k): clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple | np.ndarray):
        return [clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, pd.Timestamp | dt.date):
        return None if pd.isna(v) else v.isoformat()
    if v is None or isinstance(v, bool | int | str):
        return v
    if v is pd.NaT or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)):
        return None
    return str(v)


def records(df: pd.DataFrame, *, strict: bool = False) -> list[dict[str, Any]]:
    """The rows of ``df`` (its index left out) as JSON-ready dicts.

    Per cell with :func:`json_value` (not a whole-frame cast: a lookup stays
    sub-millisecond); ``strict=True`` runs :func:`clean` over them instead, for JSON
    files (inf → None, dates → ISO text, column names → text).
    """
    rows = df.to_dict(orient="records")
    if strict:
        return clean(rows)
    return [{k: json_value(v) for k, v in row.items()} for row in rows]
