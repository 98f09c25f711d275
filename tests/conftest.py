"""Fixtures shared by the test tree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import liucun


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[liucun.Workspace]:
    """A fresh workspace, closed after the test."""
    with liucun.Workspace(tmp_path / "ws") as w:
        yield w
