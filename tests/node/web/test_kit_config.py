"""WebConfig: defaults, TOML tables, refusals, and docs/web.md lists every field."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from crypto.errors import UsageError
from node.web.kit import ThrottlePolicy, WebConfig

DOCS = Path(__file__).resolve().parents[3] / "docs" / "web.md"


def test_the_defaults() -> None:
    config = WebConfig()
    assert (config.tls, config.idle_timeout_s, config.session_lifetime_s) == (False, 900, 43200)
    assert config.default_locale == "zh-CN"
    assert config.csrf_cookie_name == "muster_session_csrf"


def test_a_toml_table_with_a_throttle_table() -> None:
    config = WebConfig.from_mapping(
        {"tls": True, "cookie_name": "muster_hub", "throttle": {"free_failures": 3}}
    )
    assert config.tls
    assert config.throttle == ThrottlePolicy(free_failures=3)
    assert config.lang_cookie_name == "muster_hub_lang"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"idle": 5}, "web: unknown setting 'idle'"),
        ({"idle_timeout_s": 10}, "web idle_timeout_s: expected 60..86400, got 10"),
        ({"idle_timeout_s": "900"}, "web idle_timeout_s: expected a whole number, got str"),
        (
            {"idle_timeout_s": 3600, "session_lifetime_s": 600},
            "web session_lifetime_s: expected 3600..604800, got 600",
        ),
        ({"default_locale": "fr"}, "web default_locale: expected one of zh-CN, en, got 'fr'"),
        ({"cookie_name": "a b"}, "web cookie_name: expected 1-64 letters, digits or _"),
        ({"cookie_path": "console"}, "web cookie_path: expected a path starting with /"),
        ({"tls": "yes"}, "web tls: expected true or false, got str"),
        ({"throttle": 5}, "web throttle: expected a table"),
        ({"max_body_bytes": 1}, "web max_body_bytes: expected 65536..268435456, got 1"),
    ],
)
def test_bad_settings_are_refused_with_what_was_expected(
    table: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        WebConfig.from_mapping(table)
    assert caught.value.message == message


@pytest.mark.parametrize("cls", [WebConfig, ThrottlePolicy])
def test_every_setting_is_documented(cls: type) -> None:
    text = DOCS.read_text("utf-8")
    missing = [f.name for f in dataclasses.fields(cls) if f"`{f.name}`" not in text]
    assert missing == []
