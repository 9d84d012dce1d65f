"""The node's own state in the store: its parent, and its stream positions."""

from __future__ import annotations

from typing import Final

from sqlalchemy.orm import Session

from node.errors import NotEnrolledError, StoreError
from node.store.models import NodeStateRow, StreamRow
from protocol.stream import StreamPosition

__all__ = ["DOWN", "UP", "node_state", "position", "require_parent", "set_position"]

#: Stream directions: our bundles to the parent, and the parent's to us.
UP: Final = "up"
DOWN: Final = "down"


def node_state(session: Session) -> NodeStateRow:
    """The single node_state row.

    Raises:
        StoreError: it is missing (the store was not made by ``node init``).
    """
    row = session.get(NodeStateRow, 1)
    if row is None:
        raise StoreError("the store has no node state; it was not made by `muster node init`")
    return row


def require_parent(session: Session) -> str:
    """The parent hub's id.

    Raises:
        NotEnrolledError: the node is not enrolled yet: it sends nothing before.
    """
    parent = node_state(session).parent_id
    if parent is None:
        raise NotEnrolledError(
            "this node is not enrolled with its parent hub yet: nothing can be sent or received"
        )
    return parent


def position(session: Session, peer: str, direction: str) -> StreamPosition:
    """The last bundle of the stream with ``peer`` in ``direction``."""
    row = session.get(StreamRow, (peer, direction))
    if row is None:
        return StreamPosition()
    return StreamPosition(last_seq=row.last_seq, last_hash=row.last_hash)


def set_position(session: Session, peer: str, direction: str, value: StreamPosition) -> None:
    row = session.get(StreamRow, (peer, direction))
    if row is None:
        session.add(
            StreamRow(
                peer=peer, direction=direction, last_seq=value.last_seq, last_hash=value.last_hash
            )
        )
    else:
        row.last_seq, row.last_hash = value.last_seq, value.last_hash
