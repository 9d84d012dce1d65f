"""Fixtures of the federation tests: the test province of tests/hub/federation/uptree.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hub.federation.uptree import UpTree, up_pki
from tests.pki import Pki

#: Clean packages from a county hub merge at the city, from a city at the province.
AUTO: dict[str, dict[str, Any]] = {
    "city": {"auto_approve_levels": ("county",)},
    "city2": {"auto_approve_levels": ("county",)},
    "province": {"auto_approve_levels": ("city",)},
}


@pytest.fixture(scope="session")
def fed_pki() -> Pki:
    return up_pki()


@pytest.fixture
def tree(tmp_path: Path, fed_pki: Pki) -> Iterator[UpTree]:
    """Every hub of the test province on SQLite; clean packages merge without review."""
    built = UpTree(pki=fed_pki, root=tmp_path)
    for name in ("province", "city", "city2", "district", "district2"):
        built.add_hub(name, **AUTO.get(name, {}))
    yield built
    built.close()
