"""The web kit's settings: one frozen value, embedded in the node's and the hub's config.

``NodeConfig`` and ``HubConfig`` carry a ``[web]`` TOML table; they build this
value with :meth:`WebConfig.from_mapping`. docs/web.md lists every field with
its default, and a test fails when one is missing there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any, Final

from crypto.errors import UsageError
from node.web.kit.i18n import LOCALES
from node.web.kit.throttle import ThrottlePolicy

__all__ = ["WebConfig"]

_COOKIE_NAME: Final = re.compile(r"[A-Za-z0-9_]{1,64}")
_MIB: Final = 1024 * 1024


def _check_range(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"web {name}: expected a whole number, got {type(value).__name__}")
    if not low <= value <= high:
        raise UsageError(f"web {name}: expected {low}..{high}, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class WebConfig:
    """Settings of a web app built on the kit.

    Attributes:
        tls: whether the app is served over HTTPS (directly or behind a proxy);
            adds ``Secure`` to cookies and ``Strict-Transport-Security``.
        idle_timeout_s: a session unused for this long is logged out (default
            900 s = 15 min; 60..86400).
        session_lifetime_s: a session ends this long after login whatever its use
            (default 43200 s = 12 h; at least ``idle_timeout_s``).
        max_body_bytes: the largest request body, uploads included (default
            16 MiB; 64 KiB..256 MiB).
        default_locale: the language when neither the cookie nor
            ``Accept-Language`` chooses one (``zh-CN`` or ``en``).
        cookie_name: the session cookie's name; the node and a hub on one
            machine need different names (cookies ignore ports).
        cookie_path: the path the cookies are sent for (``/``, or the mount
            point of a sub-app).
        throttle: the login throttling policy.
    """

    tls: bool = False
    idle_timeout_s: int = 900
    session_lifetime_s: int = 43_200
    max_body_bytes: int = 16 * _MIB
    default_locale: str = "zh-CN"
    cookie_name: str = "muster_session"
    cookie_path: str = "/"
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)

    def __post_init__(self) -> None:
        if not isinstance(self.tls, bool):
            raise UsageError(f"web tls: expected true or false, got {type(self.tls).__name__}")
        _check_range("idle_timeout_s", self.idle_timeout_s, 60, 86_400)
        _check_range("session_lifetime_s", self.session_lifetime_s, self.idle_timeout_s, 604_800)
        _check_range("max_body_bytes", self.max_body_bytes, 64 * 1024, 256 * _MIB)
        if self.default_locale not in LOCALES:
            raise UsageError(
                f"web default_locale: expected one of {', '.join(LOCALES)}, "
                f"got {self.default_locale!r}"
            )
        if not isinstance(self.cookie_name, str) or not _COOKIE_NAME.fullmatch(self.cookie_name):
            raise UsageError("web cookie_name: expected 1-64 letters, digits or _")
        if not isinstance(self.cookie_path, str) or not self.cookie_path.startswith("/"):
            raise UsageError("web cookie_path: expected a path starting with /")

    @property
    def csrf_cookie_name(self) -> str:
        """The name of the cookie that holds an anonymous visitor's CSRF token."""
        return f"{self.cookie_name}_csrf"

    @property
    def lang_cookie_name(self) -> str:
        """The name of the cookie that holds the chosen language."""
        return f"{self.cookie_name}_lang"

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> WebConfig:
        """Build the settings from a ``[web]`` TOML table (unknown keys are refused).

        Raises:
            UsageError: an unknown key, or a value of the wrong type or out of range.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UsageError(f"web: unknown setting {unknown[0]!r}", setting=unknown[0])
        settings = dict(values)
        if "throttle" in settings:
            table = settings["throttle"]
            if not isinstance(table, dict):
                raise UsageError("web throttle: expected a table")
            settings["throttle"] = ThrottlePolicy.from_mapping(table)
        return cls(**settings)
