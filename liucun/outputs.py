"""Writing result tables to the files users asked for (CSV or Parquet by extension)."""

from __future__ import annotations

from pathlib import Path

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
