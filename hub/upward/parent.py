"""This hub's parent and the up stream toward it.

The parent is the issuer of the hub's own certificate (a hub is always certified by the
hub it sends to: docs/federation.md §1); a province hub, certified by the root, has
none. Packages are sealed to the parent's age recipient (its newest hub certificate)
and the province recovery key (hub/escrow.py), as the next bundles of the (hub, parent) stream.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.escrow import escrow_recipients
from hub.store.models import StreamRow
from hub.streams import lock_stream
from node.errors import NotEnrolledError
from node.services.streams import StreamSender
from protocol.trust import Role, newest_certificate

__all__ = ["parent_of", "require_parent", "up_dir", "up_position", "up_stream"]

_UP_DIR: Final = "up"


def parent_of(ctx: HubContext, session: Session) -> str | None:
    """The issuer of this hub's newest certificate for its key; None for the province
    (certified by the root) and for a hub not enrolled yet."""
    store = ctx.trust(session)
    own = [
        c for c in store.find(ctx.site, ctx.keys.signing.public_key.key_id) if c.role is Role.HUB
    ]
    if not own:
        return None
    issuer = newest_certificate(own).issuer
    return None if issuer == store.anchor.subject else issuer


def require_parent(ctx: HubContext, session: Session) -> str:
    """Raises:
    NotEnrolledError: the hub is the province, or not enrolled yet.
    """
    parent = parent_of(ctx, session)
    if parent is None:
        raise NotEnrolledError(
            f"hub {ctx.site} has no parent hub (the province, or not enrolled yet): "
            "nothing goes up from here"
        )
    return parent


def up_dir(ctx: HubContext) -> Path:
    """Where sealed packages wait for their receipt: ``DATA/up/<hash>.bundle``."""
    return ctx.config.data_dir / _UP_DIR


def up_stream(ctx: HubContext, session: Session, parent: str) -> StreamSender:
    """The sending side of the stream toward ``parent``.

    Raises:
        NotEnrolledError: no hub certificate of the parent is installed.
        NoEscrowError: the hub holds no province recovery key (hub/escrow.py).
    """
    certs = [
        c
        for c in ctx.trust(session).certificates_of(parent)
        if c.role is Role.HUB and c.age is not None
    ]
    if not certs:
        raise NotEnrolledError(f"no certificate of the parent hub {parent} is installed")
    newest = newest_certificate(certs)
    assert newest.age is not None
    escrow = escrow_recipients(ctx, session)
    return StreamSender(
        sender=ctx.site,
        recipient=parent,
        signer=ctx.keys.signing,
        recipients=(newest.age, *escrow),
        scratch_dir=ctx.config.scratch_dir,
        limits=ctx.config.limits,
    )


def up_position(session: Session, site: str, parent: str) -> StreamRow:
    """The up stream's row: its last sealed bundle, locked until the transaction ends."""
    return lock_stream(session, site, parent)
