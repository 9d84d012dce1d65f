"""The kit's :class:`~node.web.kit.Authenticator` over the node's accounts."""

from __future__ import annotations

from node.errors import AuthenticationError
from node.services.values import Account
from node.web.kit import Principal
from node.web.services import UiServices

__all__ = ["NodeAuthenticator", "principal_of"]


def principal_of(account: Account) -> Principal:
    """The principal the pages see for a node account."""
    return Principal(
        login=account.login, display_name=account.display_name, role=account.role.value
    )


class NodeAuthenticator:
    """Checks passwords with the node's Argon2id hashes; disabled accounts count as gone."""

    def __init__(self, services: UiServices) -> None:
        self._services = services

    def authenticate(self, login: str, password: str) -> Principal | None:
        """Return the principal for a right password of an active account, else ``None``."""
        try:
            account = self._services.authenticate(login, password)
        except AuthenticationError:
            return None
        return principal_of(account) if account.active else None

    def current(self, login: str) -> Principal | None:
        """Return the account as it is now, or ``None`` when it is disabled or gone."""
        account = self._services.account(login)
        if account is None or not account.active:
            return None
        return principal_of(account)
