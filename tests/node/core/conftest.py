"""Fixtures for the node core's tests (a real, migrated, encrypted store per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.core.helpers import Clock, NodeUnderTest, make_node, ready_node
from tests.pki import Pki


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki.build()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bare_node(tmp_path: Path, pki: Pki, clock: Clock) -> Iterator[NodeUnderTest]:
    """A node just after `node init`: not enrolled, only the site administrator."""
    node = make_node(tmp_path, pki, clock)
    yield node
    node.services.close()


@pytest.fixture
def node(tmp_path: Path, pki: Pki, clock: Clock) -> Iterator[NodeUnderTest]:
    """An enrolled node with a collector and a certified approver."""
    ready = ready_node(tmp_path, pki, clock)
    yield ready
    ready.services.close()
