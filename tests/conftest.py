"""Fixtures shared by the test tree."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

import liucun


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[liucun.Workspace]:
    """A fresh workspace, closed after the test."""
    with liucun.Workspace(tmp_path / "ws") as w:
        yield w


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``simulated(**simulate_kwargs)``: a simulated shop's files, made once per distinct
    setting for the whole session. Shared between modules: read them, never write there."""
    from liucun.sim import simulate

    made: dict[tuple, Path] = {}

    def make(**kw: Any) -> Path:
        key = tuple(sorted(kw.items()))
        if key not in made:
            root = tmp_path_factory.mktemp("sim")
            simulate(root, **kw)
            made[key] = root
        return made[key]

    return make


@pytest.fixture(scope="session")
def simulated_workspace(
    tmp_path_factory: pytest.TempPathFactory, simulated: Callable[..., Path]
) -> Callable[..., Path]:
    """``simulated_workspace(tables, **simulate_kwargs)``: a fresh workspace holding those
    tables of a simulated shop; its parent folder is the caller's to write in."""

    def make(tables: Iterable[str], **kw: Any) -> Path:
        sim = simulated(**kw)
        path = tmp_path_factory.mktemp("shop") / "ws"
        with liucun.Workspace(path) as ws:
            for t in tables:
                ws.ingest(t, sim / f"{t}.parquet")
        return path

    return make
