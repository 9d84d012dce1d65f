"""Reading ops back: from a stored bundle (what a staged bundle would change) and from
the store's op batches (where a merged op came from, and who made it).

A staged bundle's changes were rolled back after staging, so the records it
creates exist only in the bundle: the review page reads them from the raw bundle,
which is opened again with every check of docs/protocol.md (steps 1–7), the trust
as it was when the bundle arrived.

Merged ops are kept per bundle as op batches (``hub.store.models.OpBatch``): the
ops of one merge step, their canonical bytes back to back, compressed. Finding
one record's ops means reading the batches of the bundles that touched it; a raw
entry's record id is compared before the op is decoded and checked in full.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import msgpack
import sqlalchemy as sa
import zstandard
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.rawstore import bundle_path
from hub.store.models import BundleRow, OpBatch
from protocol.bundle import open_bundle
from protocol.entries import decode_entry
from protocol.ops import Op
from protocol.trust import CertificateTrust

__all__ = ["OpOrigin", "batch_ops", "bundle_ops", "op_origins"]

#: At most this many bundles are read to find where ops came from.
MAX_BUNDLES: Final = 50
#: Uncompressed op batches larger than this are not read (a merge step is ~2000 ops).
_MAX_BATCH: Final = 64 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class OpOrigin:
    """An op and the bundle it was merged from (its provenance).

    Attributes:
        op: the op (its author, node, time and value).
        bundle_row: the bundle's row in the inbox (None for a hub's own resolution).
        bundle_id: the bundle's id.
        sender: the node or hub that sent the bundle.
        batch_id: the authorised batch the op arrived in.
        approver: who authorised that batch at its origin.
        decided_by: who approved the bundle here, if someone had to.
        source: ``bundle`` for a child's op, ``resolution`` for a reviewer's.
        merged_at: when the bundle was merged.
    """

    op: Op
    bundle_row: int | None
    bundle_id: str | None
    sender: str | None
    batch_id: str | None
    approver: str | None
    decided_by: str | None
    source: str
    merged_at: datetime | None


def bundle_ops(
    ctx: HubContext, session: Session, row: BundleRow, *, records: Collection[str] | None = None
) -> Iterator[Op]:
    """The ops of a stored delta bundle, in order, optionally only those of ``records``.

    Raises:
        BundleError: the bundle no longer passes the checks of docs/protocol.md.
        EntryError: an entry is malformed.
    """
    trust = CertificateTrust(ctx.trust(session), row.received_at)
    with bundle_path(ctx.config.bundles_dir, row.bundle_hash).open("rb") as source:
        opened = open_bundle(
            source, trust=trust, identities=ctx.identities, limits=ctx.config.limits
        )
        entries = opened.entries()
        try:
            for index, raw in enumerate(entries):
                value = decode_entry(raw, index)
                if isinstance(value, Op) and (records is None or value.record_id in records):
                    yield value
        finally:
            getattr(entries, "close", lambda: None)()


def batch_ops(data: bytes, records: Collection[str]) -> Iterator[Op]:
    """The ops of ``records`` in one op batch's compressed bytes."""
    wanted = {bytes.fromhex(r.replace("-", "")) for r in records}
    plain = zstandard.ZstdDecompressor().decompress(data, max_output_size=_MAX_BATCH)
    for entry in _entries(plain):
        if isinstance(entry, list) and len(entry) > 1 and entry[1] in wanted:
            yield Op.from_entry(entry)


def _entries(plain: bytes) -> Iterator[object]:
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(plain)
    yield from unpacker


def op_origins(
    session: Session, bundles: Iterable[int], records: Collection[str]
) -> list[OpOrigin]:
    """Every op of ``records`` merged from ``bundles`` (at most :data:`MAX_BUNDLES`)."""
    ids = sorted(set(bundles))[:MAX_BUNDLES]
    if not ids:
        return []
    rows = {r.id: r for r in session.scalars(sa.select(BundleRow).where(BundleRow.id.in_(ids)))}
    found: list[OpOrigin] = []
    batches = session.execute(
        sa.select(OpBatch.bundle, OpBatch.source, OpBatch.data)
        .where(OpBatch.bundle.in_(ids))
        .order_by(OpBatch.bundle, OpBatch.source, OpBatch.chunk)
    )
    for bundle, source, data in batches:
        row = rows[bundle]
        found.extend(
            OpOrigin(
                op=op,
                bundle_row=row.id,
                bundle_id=row.bundle_id,
                sender=row.sender,
                batch_id=row.batch_id,
                approver=row.approver,
                decided_by=row.decided_by,
                source=source,
                merged_at=row.merged_at,
            )
            for op in batch_ops(data, records)
        )
    found.sort(key=lambda o: o.op.sort_key)
    return found
