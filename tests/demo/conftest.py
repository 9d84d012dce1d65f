"""Fixtures of the demo's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.demo.layout import DemoLayout


@pytest.fixture
def layout(tmp_path: Path) -> DemoLayout:
    """A prepared, empty demo directory."""
    made = DemoLayout(tmp_path / "demo-run")
    made.prepare()
    return made
