"""Errors of the hub shell (see the tree in :mod:`crypto.errors`).

::

    InputError
    ├── hub.WrongRecipientError     a bundle addressed to another site       (400)
    ├── hub.KindNotAcceptedError    a bundle kind this hub does not take in   (422)
    ├── hub.AuthenticationError     wrong login or password                    (401)
    ├── hub.ForbiddenError          the account's role may not do this          (403)
    └── hub.NotFoundError           no such bundle, record, account or request (404)
    UsageError
    └── hub.ConfigError             the hub's configuration cannot work
    StateError
    ├── hub.AlreadyDecidedError     a bundle or request was decided already
    ├── hub.LoginThrottledError     too many failed logins: wait              (429)
    ├── hub.ClaimLostError          another worker took over a claimed bundle
    ├── hub.StoppingError           the hub is stopping: a step or a job was given up (503)
    └── hub.BundleStorageError      the hub's disk refused a bundle (full)    (507)
"""

from __future__ import annotations

from crypto.errors import InputError, StateError, UsageError

__all__ = [
    "AlreadyDecidedError",
    "AuthenticationError",
    "BundleStorageError",
    "ClaimLostError",
    "ConfigError",
    "ForbiddenError",
    "KindNotAcceptedError",
    "LoginThrottledError",
    "NotFoundError",
    "StoppingError",
    "WrongRecipientError",
]


class WrongRecipientError(InputError):
    """A bundle's header names another site as its receiver."""

    code = "wrong_recipient"


class KindNotAcceptedError(InputError):
    """A bundle of a kind this hub does not take in (say, a ``baseline`` sent upward)."""

    http_status = 422
    code = "kind_not_accepted"


class AuthenticationError(InputError):
    """A login or password is wrong (the message never says which)."""

    http_status = 401
    code = "not_authenticated"


class ForbiddenError(InputError):
    """The account's role, or its jurisdiction, does not allow this request."""

    http_status = 403
    code = "forbidden"


class NotFoundError(InputError):
    """No such bundle, record, account, certificate or enrollment request."""

    http_status = 404
    code = "not_found"


class ConfigError(UsageError):
    """The hub's configuration file or environment cannot work."""

    code = "bad_config"


class AlreadyDecidedError(StateError):
    """The bundle or request was approved, rejected or refused already."""

    code = "already_decided"


class LoginThrottledError(StateError):
    """Too many failed logins for this account: it is locked for a while."""

    http_status = 429
    code = "login_throttled"

    def diagnostics(self) -> str:
        return "Wait until the lock ends, or ask an administrator to check the account."


class ClaimLostError(StateError):
    """Another worker claimed this bundle after our lease ran out; our work is discarded."""

    code = "claim_lost"


class StoppingError(StateError):
    """The hub is stopping (SIGTERM, Ctrl-C): a pipeline step or a scheduled job was given
    up at a safe point, its transaction rolled back, so nothing is half-written."""

    http_status = 503
    code = "stopping"

    def diagnostics(self) -> str:
        return "Nothing was lost: the work is done again, whole, when the hub runs next."


class BundleStorageError(StateError):
    """The hub could not write a received bundle to its disk (full, over quota, I/O).

    Nothing was kept: the partial file is removed and no row was written, so the
    sender (whose outbox keeps the bundle) sends it again later.
    """

    http_status = 507
    code = "hub_storage"

    def diagnostics(self) -> str:
        return (
            "Nothing was kept. Free disk space on the hub (its data directory) and send "
            "the bundle again; senders retry on their own."
        )
