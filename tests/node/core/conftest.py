"""Fixtures for the node core's tests (a real, migrated, encrypted store per test).

Setting a node up costs several Argon2id hashes, so each kind of node is made once per
session and copied, directory and all, for every test that uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.core.helpers import Clock, NodeUnderTest, copy_node, make_node, ready_node
from tests.pki import Pki


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki.build()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> dict[str, NodeUnderTest]:
    made = {
        "bare": make_node(tmp_path_factory.mktemp("bare"), pki, Clock()),
        "ready": ready_node(tmp_path_factory.mktemp("ready"), pki, Clock()),
    }
    for node in made.values():
        node.services.close()
    return made


@pytest.fixture
def bare_node(
    tmp_path: Path, templates: dict[str, NodeUnderTest], clock: Clock
) -> Iterator[NodeUnderTest]:
    """A node just after `node init`: not enrolled, only the site administrator."""
    node = copy_node(templates["bare"], tmp_path, clock)
    yield node
    node.services.close()


@pytest.fixture
def node(
    tmp_path: Path, templates: dict[str, NodeUnderTest], clock: Clock
) -> Iterator[NodeUnderTest]:
    """An enrolled node with a collector and a certified approver."""
    ready = copy_node(templates["ready"], tmp_path, clock)
    yield ready
    ready.services.close()
