"""How the dashboard's templates format values, and the Jinja environment that has them.

Every formatter shows a missing value (None, NaN, NaT, a Jinja undefined) as "–".
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape

from liucun import look

TEMPLATES_DIR = Path(__file__).parent.parent / "templates"


def missing(v: Any) -> bool:
    """None, NaN, NaT or a Jinja undefined."""
    if v is None or isinstance(v, Undefined):
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def fmt_num(v: Any, digits: int = 0) -> str:
    if missing(v):
        return "–"
    try:
        return f"{float(v):,.{digits}f}"
    except (TypeError, ValueError):
        return str(v)


def fmt_pct(v: Any, digits: int = 1) -> str:
    """A share or ratio as a percentage, as the CLI and the report write it
    (:func:`liucun.look.percent`): ROI -60.62 with ``digits=0`` is "-6,062%"."""
    if missing(v):
        return "–"
    return look.percent(v, digits)


def fmt_date(v: Any) -> str:
    if missing(v):
        return "–"
    return str(v)[:10]


def fmt_ts(v: Any) -> str:
    if missing(v):
        return "–"
    return str(v).replace("T", " ")[:16]


def heat(v: Any, top: Any = 1.0, rgb: str = "192,57,43") -> str:
    """Inline style of a heatmap cell: colour strength v / top."""
    if missing(v):
        return "background:#f4f4f4;color:#aaa"
    top = float(top) if not missing(top) and float(top) > 0 else 1.0
    a = max(0.0, min(1.0, float(v) / top))
    a = 0.06 + 0.84 * math.sqrt(a)
    ink = "#fff" if a > 0.55 else "#222"
    return f"background:rgba({rgb},{a:.2f});color:{ink}"


def fill(template: str, **kw: Any) -> str:
    """``str.format`` that leaves unknown fields alone (a translation may omit some)."""

    class Blank(dict):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    return template.format_map(Blank(**kw))


env = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(num=fmt_num, pct=fmt_pct, date=fmt_date, ts=fmt_ts)
env.globals.update(heat=heat, fill=fill, missing=missing)
