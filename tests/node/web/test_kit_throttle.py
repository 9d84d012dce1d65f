"""Login throttling: free failures, then a doubling wait, per login and per address."""

from __future__ import annotations

import pytest
from aiohttp import ClientResponse
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import UsageError
from node.web.kit import LoginThrottle, ThrottlePolicy
from tests.node.web.conftest import KitClient, KitStarter
from tests.node.web.kitapp import PASSWORD, Accounts, MovableClock, csrf_of

POLICY = ThrottlePolicy(free_failures=3, address_free_failures=6, base_delay_s=2, max_delay_s=60)


def _fail(throttle: LoginThrottle, times: int, *, login: str = "li", address: str = "a") -> None:
    for _ in range(times):
        throttle.failed(login, address, 0.0)


def test_the_first_failures_are_free() -> None:
    throttle = LoginThrottle(POLICY)
    _fail(throttle, 2)
    assert throttle.retry_after("li", "a", 0.0) == 0.0


def test_then_the_wait_doubles_up_to_the_cap() -> None:
    waits = []
    throttle = LoginThrottle(POLICY)
    for _ in range(10):
        throttle.failed("li", "a", 0.0)
        waits.append(throttle.retry_after("li", "a", 0.0))
    assert waits == [0, 0, 2, 4, 8, 16, 32, 60, 60, 60]


def test_the_wait_counts_from_the_last_failure() -> None:
    throttle = LoginThrottle(POLICY)
    _fail(throttle, 4)
    assert throttle.retry_after("li", "a", 3.0) == 1.0
    assert throttle.retry_after("li", "a", 4.0) == 0.0


def test_logins_are_counted_without_case_or_spaces() -> None:
    throttle = LoginThrottle(POLICY)
    for login in ("Li", " li", "LI "):
        throttle.failed(login, "a", 0.0)
    assert throttle.retry_after("li", "b", 0.0) == 2.0


def test_an_address_guessing_many_logins_is_throttled() -> None:
    throttle = LoginThrottle(POLICY)
    for n in range(6):
        throttle.failed(f"user{n}", "10.0.0.9", 0.0)
    assert throttle.retry_after("someone-else", "10.0.0.9", 0.0) == 2.0
    assert throttle.retry_after("someone-else", "10.0.0.10", 0.0) == 0.0


def test_success_clears_the_login_but_not_the_address() -> None:
    throttle = LoginThrottle(POLICY)
    for n in range(6):
        throttle.failed(f"user{n}", "a", 0.0)
    throttle.succeeded("user0")
    assert throttle.retry_after("user0", "b", 0.0) == 0.0
    assert throttle.retry_after("user0", "a", 0.0) == 2.0


def test_failures_are_forgotten_after_a_quiet_hour() -> None:
    throttle = LoginThrottle(POLICY)
    _fail(throttle, 9)
    assert throttle.retry_after("li", "a", 3599.0) == 0.0  # past the 60 s cap anyway
    throttle.failed("li", "a", 3600.0)
    assert throttle.retry_after("li", "a", 3600.0) == 0.0
    assert throttle.size == (1, 1)


def test_memory_is_bounded_by_max_entries() -> None:
    throttle = LoginThrottle(ThrottlePolicy(max_entries=10))
    for n in range(1000):
        throttle.failed(f"user{n}", f"10.0.{n // 250}.{n % 250}", float(n))
    assert throttle.size == (10, 10)


@given(
    failures=st.integers(min_value=0, max_value=10_000),
    free=st.integers(min_value=1, max_value=50),
    base=st.floats(min_value=0.01, max_value=100),
    cap=st.floats(min_value=100, max_value=86400),
)
def test_the_delay_is_monotonic_and_never_above_the_cap(
    failures: int, free: int, base: float, cap: float
) -> None:
    policy = ThrottlePolicy(base_delay_s=base, max_delay_s=cap)
    now, later = policy.delay(failures, free), policy.delay(failures + 1, free)
    assert 0 <= now <= later <= cap
    assert (now == 0) == (failures < free)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"free_failures": 0}, "throttle free_failures: expected 1..1000, got 0"),
        ({"max_delay_s": "9"}, "throttle max_delay_s: expected a number, got str"),
        ({"base_delay_s": 10, "max_delay_s": 5}, "expected base_delay_s <= max_delay_s"),
    ],
)
def test_bad_policies_are_refused(settings: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ThrottlePolicy(**settings)  # type: ignore[arg-type]


def test_an_unknown_policy_setting_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown setting 'free'"):
        ThrottlePolicy.from_mapping({"free": 3})


async def _attempt(client: KitClient, password: str) -> ClientResponse:
    page = await client.get("/login")
    token = csrf_of(await page.text())
    return await client.post(
        "/login",
        data={"login": "li", "password": password, "csrf_token": token},
        allow_redirects=False,
    )


async def test_the_login_page_throttles_repeated_failures(
    kit_client: KitStarter, accounts: Accounts, clock: MovableClock
) -> None:
    client = await kit_client()
    for _ in range(5):
        answer = await _attempt(client, "wrong")
        assert answer.status == 401
        assert "用户名或密码错误" in await answer.text()
    answer = await _attempt(client, PASSWORD)
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "1"
    assert "请在 1 秒后再试" in await answer.text()
    # While throttled the password is not even checked, so guessing gains nothing.
    assert accounts.checks == 5
    clock.advance(seconds=1)
    assert (await _attempt(client, PASSWORD)).status == 303
