"""The province's recovery recipients at a hub: kept from the enrollment answer, sealed to.

Every bundle a hub seals (down bundles for its children, packages for its parent) is
also encrypted to the province recovery key, so a lost hub key loses no data
(docs/operations.md). The recipients come in a signed escrow statement
(:mod:`protocol.trust.escrow`): the province hub installs the one its key ceremony
made (``muster hub escrow install FILE``), every other hub receives it in its
enrollment answer and passes it on in the answers it gives. ``escrow_recipients`` in
hub.toml adds recipients; it cannot take the province's away.

Once a hub is enrolled (it holds a hub certificate for its own key), it refuses to
seal without the statement (:class:`~node.errors.NoEscrowError`).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.orm import Session

from crypto.age import AgeRecipient
from hub.context import HubContext, get_state, set_state
from node.errors import NoEscrowError
from node.services.escrow import recipients_with
from protocol.trust import Role
from protocol.trust.escrow import EscrowStatement, verify_escrow

__all__ = ["escrow_recipients", "escrow_statement", "install_escrow"]

_KEY: Final = "escrow"


def escrow_statement(session: Session) -> EscrowStatement | None:
    """The escrow statement this hub holds, if any."""
    text = get_state(session, _KEY)
    return EscrowStatement.from_bytes(text) if text else None


def install_escrow(ctx: HubContext, session: Session, statement: EscrowStatement) -> bool:
    """Keep ``statement`` if it is valid and newer than the one held; return whether it was.

    Raises:
        TrustError: it is not signed by the root or the province hub, or is for
            another province.
    """
    verify_escrow(statement, ctx.trust(session))
    held = escrow_statement(session)
    if held is not None and held.issued_at >= statement.issued_at:
        return False
    set_state(session, _KEY, statement.to_bytes().decode("utf-8"))
    return True


def _enrolled(ctx: HubContext, session: Session) -> bool:
    own = ctx.keys.signing.public_key.key_id
    return any(c.role is Role.HUB for c in ctx.trust(session).find(ctx.site, own))


def escrow_recipients(ctx: HubContext, session: Session) -> tuple[AgeRecipient, ...]:
    """The recipients every bundle this hub seals goes to, besides its addressee.

    Raises:
        NoEscrowError: the hub is enrolled but holds no escrow statement.
    """
    statement = escrow_statement(session)
    if statement is None and _enrolled(ctx, session):
        raise NoEscrowError(
            f"hub {ctx.site} holds no province recovery key: refusing to seal a bundle "
            "that a lost key would make unreadable"
        )
    return recipients_with(statement, ctx.config.escrow_recipients)
