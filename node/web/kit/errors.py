"""Errors of the web kit (see the whole tree in :mod:`crypto.errors`).

A request is input from outside, so a forged or stale form is an
:class:`~crypto.errors.InputError`; a request that is well formed but not
allowed for this person, or not allowed yet, is a :class:`~crypto.errors.StateError`::

    MusterError
    ├── InputError
    │   └── WebInputError               a request the kit refuses               (HTTP 400)
    │       ├── CsrfError               the form's CSRF token is missing or wrong (HTTP 403)
    │       └── LoginFailedError        the login or the password is wrong       (HTTP 401)
    └── StateError
        └── AccessError                 not allowed for this person now          (HTTP 403)
            ├── NotLoggedInError        no live session                          (HTTP 401)
            └── LoginThrottledError     too many failed logins: wait             (HTTP 429)

Messages never carry a login, a password, a token or a client address: those
go, when needed, in keyword fields that are safe to log (counts and seconds).
"""

from __future__ import annotations

from crypto.errors import InputError, StateError

__all__ = [
    "AccessError",
    "CsrfError",
    "LoginFailedError",
    "LoginThrottledError",
    "NotLoggedInError",
    "WebInputError",
]


class WebInputError(InputError):
    """A request the web kit refuses before any handler runs."""

    code = "bad_request"


class CsrfError(WebInputError):
    """An unsafe request without the session's CSRF token, or with another one."""

    http_status = 403
    code = "csrf_failed"

    def diagnostics(self) -> str:
        return "Reload the page and submit the form again; do not submit forms from other sites."


class LoginFailedError(WebInputError):
    """The login or the password is wrong (the message does not say which)."""

    http_status = 401
    code = "login_failed"


class AccessError(StateError):
    """The request is not allowed for this person (role, account state)."""

    http_status = 403
    code = "forbidden"


class NotLoggedInError(AccessError):
    """The request needs a live session, and there is none (or it has expired)."""

    http_status = 401
    code = "not_logged_in"


class LoginThrottledError(AccessError):
    """Too many failed logins for this login or client address: wait and retry.

    Attributes:
        retry_after: whole seconds to wait (also sent as ``Retry-After``).
    """

    http_status = 429
    code = "login_throttled"

    def __init__(self, message: str, *, retry_after: int, **fields: object) -> None:
        super().__init__(message, retry_after=retry_after, **fields)
        self.retry_after = retry_after
