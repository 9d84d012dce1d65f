"""Hypothesis settings for the protocol's property tests.

The session-wide profiles live in ``tests/conftest.py``. The merge convergence
tests need more examples than the rest (issue 2: at least 500 in CI), so they use
the ``convergence`` profile registered here rather than raising every test's count.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

settings.register_profile(
    "convergence",
    max_examples=500 if IN_CI else 100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
