"""Who is logged in: :class:`Principal`, and the :class:`Authenticator` an app provides.

The kit's login handler and session middleware are generic over the
authenticator: the node checks its accounts table, the hub its own. Roles are
the app's strings (the node's ``collector``, ``approver``, ``site_admin``; the
hub's ``admin``, ``reviewer``, ``viewer``, ``auditor``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from crypto.errors import UsageError

__all__ = ["Authenticator", "Principal"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """A logged-in person as the pages see them.

    Attributes:
        login: the account's login (also the session's ``account``).
        display_name: the name shown in the page header.
        role: the account's role, one of the app's role strings.
    """

    login: str
    display_name: str
    role: str

    def __post_init__(self) -> None:
        if not (self.login and self.role):
            raise UsageError("principal: expected a login and a role")

    def __repr__(self) -> str:
        # A login can be a person's name: keep it out of reprs that reach logs.
        return f"Principal(role={self.role!r})"


@runtime_checkable
class Authenticator(Protocol):
    """Checks passwords and says who an account is now.

    Both methods are synchronous; the kit runs :meth:`authenticate` in a worker
    thread because a password hash is slow on purpose.
    """

    def authenticate(self, login: str, password: str) -> Principal | None:
        """Return the principal when the password is right and the account enabled.

        Returns ``None`` for an unknown login, a wrong password or a disabled
        account alike, so that a page cannot tell them apart.
        """
        ...

    def current(self, login: str) -> Principal | None:
        """Return the principal of ``login`` now, or ``None`` if it was disabled or removed.

        Called on every request of a session, so that disabling an account or
        changing its role takes effect at once.
        """
        ...
