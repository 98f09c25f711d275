"""Format adapters: each maps one real-world layout onto the canonical tables.

Adapters are imported on first use, so a broken or heavy one costs nothing to the others.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from liucun.data.adapters.base import Adapter
from liucun.data.adapters.generic import GenericAdapter
from liucun.data.sources import GENERIC_FORMATS, detect_format
from liucun.errors import SourceError

# --format name → "module:Class" under liucun.data.adapters
ADAPTERS: dict[str, str] = {
    "cdnow": "cdnow:CdnowAdapter",
    "movielens": "movielens:MovielensAdapter",
    "segment": "segment:SegmentAdapter",
    "ga4": "ga4:Ga4Adapter",
    "online_retail": "online_retail:OnlineRetailAdapter",
    "retailrocket": "retailrocket:RetailrocketAdapter",
    "taobao": "taobao:TaobaoAdapter",
    "olist": "olist:OlistAdapter",
}


def formats() -> list[str]:
    return [*GENERIC_FORMATS, *ADAPTERS]


def adapter_class(fmt: str) -> type[Adapter]:
    module, cls = ADAPTERS[fmt].split(":")
    return getattr(importlib.import_module(f"liucun.data.adapters.{module}"), cls)


def get_adapter(fmt: str | None, path: Path) -> Adapter:
    """The adapter for ``--format`` (or the generic reader the file name implies)."""
    if fmt is None:
        return GenericAdapter(detect_format(path))
    fmt = fmt.lower()
    if fmt in GENERIC_FORMATS:
        return GenericAdapter(fmt)
    if fmt in ADAPTERS:
        return adapter_class(fmt)()
    raise SourceError(f"{path}: unknown format '{fmt}'; known: {', '.join(formats())}")
