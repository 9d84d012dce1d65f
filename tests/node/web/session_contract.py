"""The behaviour every :class:`~node.web.kit.SessionStore` must have.

The node's and the hub's database-backed stores run these same checks:
``check_session_store(lambda policy: MyStore(..., policy))``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from node.web.kit import SessionPolicy, SessionStore

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
POLICY = SessionPolicy(idle=timedelta(minutes=15), lifetime=timedelta(hours=12))
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def check_session_store(make: Callable[[SessionPolicy], SessionStore]) -> None:
    """Run the whole contract against fresh stores made by ``make``."""
    for check in (
        _tokens_are_random_256_bit_and_name_one_account,
        _a_session_ends_when_idle_and_touch_keeps_it,
        _a_session_ends_at_its_lifetime_however_used,
        _delete_ends_a_session_and_is_idempotent,
        _unknown_tokens_are_none,
    ):
        check(make(POLICY))


def _tokens_are_random_256_bit_and_name_one_account(store: SessionStore) -> None:
    first, second = store.create("li", T0), store.create("li", T0)
    assert _TOKEN.fullmatch(first)
    assert _TOKEN.fullmatch(second)
    assert first != second
    one, two = store.get(first, T0), store.get(second, T0)
    assert one is not None
    assert two is not None
    assert one.account == two.account == "li"
    assert one.csrf_token != two.csrf_token
    assert one.created_at == one.last_seen == T0


def _a_session_ends_when_idle_and_touch_keeps_it(store: SessionStore) -> None:
    token = store.create("li", T0)
    store.touch(token, T0 + timedelta(minutes=14))
    assert store.get(token, T0 + timedelta(minutes=28)) is not None
    assert store.get(token, T0 + timedelta(minutes=29)) is None
    # Once found expired it stays gone, even for an earlier "now".
    assert store.get(token, T0 + timedelta(minutes=1)) is None


def _a_session_ends_at_its_lifetime_however_used(store: SessionStore) -> None:
    token = store.create("li", T0)
    moment = T0
    while moment < T0 + timedelta(hours=12) - timedelta(minutes=10):
        moment += timedelta(minutes=10)
        assert store.get(token, moment) is not None
        store.touch(token, moment)
    assert store.get(token, T0 + timedelta(hours=12)) is None


def _delete_ends_a_session_and_is_idempotent(store: SessionStore) -> None:
    token, other = store.create("li", T0), store.create("wang", T0)
    store.delete(token)
    store.delete(token)
    assert store.get(token, T0) is None
    assert store.get(other, T0) is not None


def _unknown_tokens_are_none(store: SessionStore) -> None:
    assert store.get("A" * 43, T0) is None
    store.touch("A" * 43, T0)
    store.delete("A" * 43)
