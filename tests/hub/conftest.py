"""Hub test fixtures: a district hub (370102) on SQLite and on PostgreSQL, the test PKI,
and a factory of authorised delta bundles from its town node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.config import HubConfig
from hub.context import HubContext
from hub.escrow import install_escrow
from hub.store import Store, migrate
from hub.trust import install_certificates
from tests.hub.factory import DeltaFactory
from tests.pki import NOW, Pki


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki.build()


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every hub store test runs on a SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def make_hub(
    data: Path,
    url: str,
    pki: Pki,
    *,
    site: str = "370102",
    party: str = "district",
    **settings: Any,
) -> HubContext:
    config = HubConfig(data_dir=data, site=site, db_url=url, cookie_secure=False, **settings)
    store = Store(url)
    migrate(store)
    ctx = HubContext(
        config=config,
        store=store,
        keys=pki[party].keys,
        anchor=pki.anchor,
        now=lambda: NOW,
        worker="test-worker",
    )
    with store.write() as session:
        install_certificates(session, pki.certificates(), source="chain")
        install_escrow(ctx, session, pki.escrow())
    return ctx


@pytest.fixture
def hub(tmp_path: Path, hub_db_url: str, pki: Pki) -> Iterator[HubContext]:
    ctx = make_hub(tmp_path / "data", hub_db_url, pki)
    yield ctx
    ctx.store.dispose()


@pytest.fixture
def deltas(pki: Pki) -> DeltaFactory:
    return DeltaFactory(pki)
