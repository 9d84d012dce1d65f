"""The province's recovery recipients at a node: kept from the enrollment answer, sealed to.

Every bundle a node seals (deltas, receipt bundles) is also encrypted to the province
recovery key, so the data survives the loss of the hub's key (docs/operations.md).
The recipients reach the node in its enrollment answer as a signed escrow statement
(:mod:`protocol.trust.escrow`), checked against the root anchor when the answer is
installed; ``escrow_recipients`` in node.toml adds recipients, it cannot remove the
province's. Once enrolled, a node without the statement refuses to seal
(:class:`~node.errors.NoEscrowError`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from crypto.age import AgeRecipient
from node.errors import NoEscrowError
from node.services.context import NodeContext
from node.services.state import node_state
from protocol.trust.escrow import EscrowStatement

__all__ = ["escrow_recipients", "keep_escrow", "node_escrow", "recipients_with"]


def node_escrow(session: Session) -> EscrowStatement | None:
    """The escrow statement the node holds, if any."""
    text = node_state(session).escrow
    return EscrowStatement.from_bytes(text) if text else None


def keep_escrow(session: Session, statement: EscrowStatement) -> bool:
    """Keep a statement already checked against the anchor, if newer than the one held."""
    held = node_escrow(session)
    if held is not None and held.issued_at >= statement.issued_at:
        return False
    node_state(session).escrow = statement.to_bytes().decode("utf-8")
    return True


def escrow_recipients(ctx: NodeContext, session: Session) -> tuple[AgeRecipient, ...]:
    """The recipients every bundle the node seals goes to, besides its parent.

    Raises:
        NoEscrowError: the node is enrolled but holds no escrow statement.
    """
    state = node_state(session)
    statement = node_escrow(session)
    if statement is None and state.parent_id is not None:
        raise NoEscrowError(
            f"node {ctx.node_id} holds no province recovery key: refusing to seal a bundle "
            "that a lost hub key would make unreadable"
        )
    return recipients_with(statement, ctx.config.escrow_recipients)


def recipients_with(
    statement: EscrowStatement | None, configured: tuple[str, ...]
) -> tuple[AgeRecipient, ...]:
    """The statement's recipients, then the configured ones, each once."""
    found = [
        *(statement.recipients if statement else ()),
        *(AgeRecipient(r) for r in configured),
    ]
    unique: dict[str, AgeRecipient] = {}
    for recipient in found:
        unique.setdefault(recipient.text, recipient)
    return tuple(unique.values())
