"""Shared test configuration.

- Hypothesis profiles: ``ci`` (selected when ``CI=true``) runs more examples.
- ``require_tool``: stock tools (minisign, age, chromium) must be present in CI; outside
  CI a missing tool skips the test with a loud reason.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

pytest_plugins = ["tests.fixtures.postgres", "tests.fixtures.browser"]

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if IN_CI else "dev")


def require_tool(name: str) -> str:
    """Return the path of a stock tool, or fail (in CI) / skip (elsewhere) when absent."""
    path = shutil.which(name)
    if path is None:
        message = f"the stock tool {name!r} is not installed (make test installs it with apt-get)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def rng() -> Callable[[int], bytes]:
    """A deterministic byte source, so keys and ids in a test are reproducible."""
    source = random.Random(20261129)
    return source.randbytes
