"""Fixtures of the hub's report tests: the campaign of storedata.py loaded into the
district hub (SQLite and PostgreSQL, from tests/hub/conftest.py)."""

from __future__ import annotations

import pytest

from hub.context import HubContext
from tests.hub.factory import DeltaFactory
from tests.hub.reports.storedata import Loaded, load_campaign


@pytest.fixture
def loaded(hub: HubContext, deltas: DeltaFactory) -> Loaded:
    return load_campaign(hub, deltas)
