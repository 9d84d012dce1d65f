"""Packages for the parent: the merged ops since the last package, with their provenance.

:func:`build_packages` takes the upward ops merged since the last package (the op
log after ``up_cursor``, hub/upward/oplog.py) and cuts them into packages of at most
``package_max_ops`` ops and about ``package_max_bytes`` bytes of ops and blobs (an op
whose blobs alone pass the bound travels alone; a blob travels once per package).
Each package becomes an ``up_bundles`` row covering its stretch of the log, and the
cursor moves past it, in one transaction with the merge lock held (so no merge
commits an op batch behind the cursor while it moves).

Who authorises (``package_authorisation``): under ``auto`` the hub's own
administrator key does at once (hub/upward/adminkey.py); under ``admin`` the rows wait
as ``draft`` until an administrator runs ``muster hub package --authorise``
(:func:`authorise_drafts`). Sealing (:func:`seal_package`) then writes, in order
(docs/federation.md §2): the ``cert`` entries, the ``crl`` entries issued below, the
kept ``manifest`` entries that hold the package's ops (a manifest is first made for
resolution ops that have none), the package's own manifest, the ``op`` entries in log
order, the ``blob`` entries, and the collectors' ``answer`` entries that came up from
below for findings made above, after the ``origin`` entries that show where each was
signed (hub/crosscheck/answers.py; answers waiting with no op to carry them make a
package of their own). The header carries the package's
authorisation. The file goes to ``DATA/up/<hash>.bundle`` before the row that names it
is committed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import msgpack
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.audit import append_audit
from hub.context import HubContext, give_up_if_stopping
from hub.crosscheck.answers import answers_for_parent, mark_forwarded
from hub.rawstore import bundle_path
from hub.store.models import UpBundle
from hub.trustflow import crls_waiting, mark_crls_sent
from hub.upward.adminkey import AdminSigner, auto_signer
from hub.upward.oplog import Cursor, LoggedOp, get_cursor, ops_between, set_cursor
from hub.upward.parent import require_parent, up_dir, up_position, up_stream
from hub.upward.provenance import (
    carried_manifests,
    certificates_for,
    crls_below,
    resolution_manifest,
)
from node.fsutil import atomic_writer
from node.web.recordform import sniff_media_type
from protocol.bundle import BundleKind, seal_bundle
from protocol.entries import Blob, EntryTag, Manifest, encode_entry, entry_bytes
from protocol.trust import Role, authorise, verify_authorisation

__all__ = ["PackageInfo", "authorise_drafts", "build_packages", "seal_entries", "seal_package"]

_log = logging.getLogger("muster.hub.upward")
#: Answers from below a package carries at most (about 300 KiB); the rest go in the next.
_MAX_ANSWERS: Final = 1000
#: What a package adds per op besides its bytes: op ids in manifests, msgpack framing.
_OP_OVERHEAD: Final = 64
_STATES_SEALED: Final = ("pending", "sent", "acknowledged")


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageInfo:
    """One package: its bundle id, state, stream position (once sealed) and size."""

    bundle_id: str
    state: str
    ops: int
    seq: int | None = None
    size: int | None = None


def _info(row: UpBundle) -> PackageInfo:
    return PackageInfo(
        bundle_id=row.bundle_id, state=row.state, ops=row.op_count, seq=row.seq, size=row.size
    )


def _blob_size(ctx: HubContext, blob_id: str) -> int:
    try:
        return (ctx.config.blobs_dir / blob_id.removeprefix("b2:")).stat().st_size
    except FileNotFoundError:
        return 0


def _plan(ctx: HubContext, session: Session, cursor: Cursor) -> tuple[int, Cursor] | None:
    """How many ops the next package takes from ``cursor``, and where it ends."""
    limit_ops, limit_bytes = ctx.config.package_max_ops, ctx.config.package_max_bytes
    count, size, end = 0, 0, cursor
    taken: set[str] = set()
    for op in _stoppable(ctx, ops_between(session, cursor)):
        new = [ref for ref in op.blobs if ref not in taken]
        cost = len(op.raw) + _OP_OVERHEAD + sum(_blob_size(ctx, ref) for ref in new)
        if count and (count >= limit_ops or size + cost > limit_bytes):
            break
        count, size, end = count + 1, size + cost, op.after
        taken.update(new)
    return (count, end) if count else None


def build_packages(ctx: HubContext, *, signer: AdminSigner | None = None) -> list[PackageInfo]:
    """Cut the ops merged since the last package into packages; seal them under ``auto``.

    Returns the packages made (drafts under ``admin``), oldest first.

    Raises:
        NotEnrolledError: the hub has no parent (the province, or not enrolled yet).
        StateError: ``auto``, but the hub holds no administrator key of its own.
        TrustError: an op has no provenance to pass on, or the hub is not enrolled.
        StoppingError: the hub began to stop; the packages made so far are kept.
    """
    made: list[PackageInfo] = []
    while True:
        # Between two packages, each its own transaction (with the cursor it moves), is
        # where a stopping hub gives up; the next run cuts the rest.
        give_up_if_stopping(ctx, "packaging for the parent")
        with ctx.store.writer() as session:
            ctx.store.lock_merges(session)
            parent = require_parent(ctx, session)
            cursor = get_cursor(session)
            plan = _plan(ctx, session, cursor)
            if plan is None and (_answers_wait(session) or _crls_wait(ctx, session)):
                plan = (0, cursor)  # a revocation or answers go up even with no op to carry them
            if plan is None:
                session.rollback()
                return made
            count, end = plan
            row = UpBundle(
                bundle_id=secrets.token_hex(16),
                recipient=parent,
                kind=BundleKind.PACKAGE.value,
                state="draft",
                batch_id=secrets.token_hex(16),
                op_count=count,
                from_batch=cursor.batch,
                from_offset=cursor.offset,
                to_batch=end.batch,
                to_offset=end.offset,
                created_at=ctx.now(),
            )
            session.add(row)
            set_cursor(session, end)
            session.flush()
            if ctx.config.package_authorisation == "auto":
                seal_package(ctx, session, row, signer or auto_signer(ctx, session))
            else:
                _audit(ctx, session, row, "package.drafted")
            session.commit()
            made.append(_info(row))


def authorise_drafts(ctx: HubContext, signer: AdminSigner) -> list[PackageInfo]:
    """Seal every draft package, oldest first, authorised by ``signer`` (an administrator).

    Raises:
        TrustError: ``signer`` holds no valid ``admin`` certificate for this hub, or an
            op has no provenance to pass on.
    """
    sealed: list[PackageInfo] = []
    while True:
        with ctx.store.writer() as session:
            ctx.store.lock_merges(session)
            row = session.scalars(
                sa.select(UpBundle)
                .where(UpBundle.state == "draft")
                .order_by(UpBundle.from_batch, UpBundle.from_offset)
                .limit(1)
            ).first()
            if row is None:
                session.rollback()
                return sealed
            seal_package(ctx, session, row, signer)
            session.commit()
            sealed.append(_info(row))


def _answers_wait(session: Session) -> bool:
    """Answers from below wait to go up, and no draft package will carry them."""
    draft = session.scalar(sa.select(UpBundle.bundle_id).where(UpBundle.state == "draft").limit(1))
    return draft is None and bool(answers_for_parent(session, limit=1))


def _crls_wait(ctx: HubContext, session: Session) -> bool:
    """A revocation list below is newer than the last sent up, and no draft will carry it."""
    draft = session.scalar(sa.select(UpBundle.bundle_id).where(UpBundle.state == "draft").limit(1))
    return draft is None and crls_waiting(ctx, session)


def _scan(ctx: HubContext, session: Session, start: Cursor, end: Cursor) -> list[LoggedOp]:
    """The package's ops without their bytes (the entries read them again as they go)."""
    return [replace(op, raw=b"") for op in _stoppable(ctx, ops_between(session, start, end))]


def _stoppable(ctx: HubContext, ops: Iterator[LoggedOp]) -> Iterator[LoggedOp]:
    """``ops``, giving up before each one if the hub has begun to stop.

    Planning, scanning and sealing a package of 20,000 ops each read them all (seconds,
    on a loaded machine), inside the one transaction that makes the package. Giving up
    there rolls that transaction back and seal_entries removes its unfinished file, so
    the cursor and the stream position are as they were.
    """
    for op in ops:
        give_up_if_stopping(ctx, "packaging for the parent")
        yield op


def seal_package(ctx: HubContext, session: Session, row: UpBundle, signer: AdminSigner) -> None:
    """Authorise and seal the draft ``row`` as the next bundle of the up stream.

    Raises:
        TrustError: an op has no provenance, or ``signer`` cannot authorise for this hub.
        BundleTooLargeError, EntryLimitError: the package breaks a bundle limit.
        StoppingError: the hub began to stop; nothing is sealed (the caller rolls back).
    """
    now = ctx.now()
    start, end = Cursor(row.from_batch, row.from_offset), Cursor(row.to_batch, row.to_offset)
    ops = _scan(ctx, session, start, end)
    for bundle in sorted({op.bundle for op in ops if op.source == "resolution"}):
        resolution_manifest(session, site=ctx.site, bundle=bundle, signer=signer, at=now)
    carried = carried_manifests(session, ops)
    op_ids = [op.op_id for op in ops]
    answers = answers_for_parent(session, limit=_MAX_ANSWERS)
    origins = list({item.origin_id: item.origin for item in answers}.values())
    auth = authorise(
        key=signer.key, by=signer.subject, batch_id=row.batch_id or secrets.token_hex(16),
        origin=ctx.site, op_ids=op_ids, signed_at=now,
        answers=[entry_bytes(item.answer) for item in answers],
    )  # fmt: skip
    own = Manifest(batch_id=auth.batch_id, origin=ctx.site, op_ids=tuple(op_ids), auth=auth)
    store = ctx.trust(session)
    # The package's own authorisation must hold at the parent: check it here first.
    verify_authorisation(auth, op_ids=op_ids, store=store, origin=ctx.site, role=Role.ADMIN)
    # The parent checks each origin's approver too: their certificates go up with the ops'.
    signed_answers = [
        Manifest(batch_id=o.auth.batch_id, origin=o.auth.origin, op_ids=(), auth=o.auth)
        for o in origins
    ]
    certs = certificates_for(store, [*carried, own, *signed_answers])
    crls = crls_below(session, ctx.site)
    mark_crls_sent(session, crls)
    blob_ids = list(dict.fromkeys(ref for op in ops for ref in op.blobs))
    mark_forwarded(session, [item.row_id for item in answers], at=now)

    def entries() -> Iterator[Any]:
        yield from (encode_entry(c) for c in certs)
        yield from (encode_entry(c) for c in crls)
        yield from (encode_entry(m) for m in carried)
        yield encode_entry(own)
        for op in _stoppable(ctx, ops_between(session, start, end)):
            yield [EntryTag.OP.value, msgpack.unpackb(op.raw, raw=False)]
        for blob in _blobs(ctx, blob_ids):
            yield encode_entry(blob)
        yield from (encode_entry(origin) for origin in origins)
        yield from (encode_entry(item.answer) for item in answers)

    row.batch_id, row.authorised_by = auth.batch_id, signer.subject
    seal_entries(ctx, session, row, entries(), auth=auth.to_dict())
    _log.info("package %s: seq %s, %d ops, %s bytes", row.bundle_id, row.seq, len(ops), row.size)


def seal_entries(
    ctx: HubContext,
    session: Session,
    row: UpBundle,
    entries: Iterable[Any],
    *,
    auth: dict[str, Any] | None = None,
) -> None:
    """Seal ``entries`` as the next bundle of the up stream (of ``row``'s kind), for the
    draft ``row``: the file first, then the row, the stream position and the audit entry.

    Raises:
        NotEnrolledError: no certificate of the parent is installed.
        NoEscrowError: the hub holds no province recovery key.
        BundleTooLargeError, EntryLimitError: the entries break a bundle limit.
    """
    parent = row.recipient
    stream = up_stream(ctx, session, parent)
    position = up_position(session, ctx.site, parent)
    now = ctx.now()
    directory = up_dir(ctx)
    directory.mkdir(parents=True, exist_ok=True)
    ctx.config.scratch_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="up-", dir=ctx.config.scratch_dir)
    staging = Path(name)
    try:
        with os.fdopen(fd, "w+b") as out, tempfile.TemporaryFile(dir=stream.scratch_dir) as spool:
            sealed = seal_bundle(
                entries,
                kind=BundleKind(row.kind),
                sender=ctx.site,
                recipient=parent,
                seq=position.last_seq + 1,
                prev=position.last_hash,
                created=now,
                bundle_id=row.bundle_id,
                signer=stream.signer,
                recipients=list(stream.recipients),
                out=out,
                spool=spool,
                schema=ctx.schema.version if row.kind == BundleKind.PACKAGE.value else None,
                auth=auth,
                limits=stream.limits,
            )
            out.seek(0)
            with atomic_writer(bundle_path(directory, sealed.bundle_hash), mode=0o440) as final:
                while chunk := out.read(1 << 20):
                    final.write(chunk)
    finally:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
    header = sealed.header
    row.state, row.seq, row.prev = "pending", header.seq, header.prev
    row.bundle_hash, row.size, row.entry_count = sealed.bundle_hash, sealed.size, header.count
    row.sealed_at = now
    position.last_seq, position.last_hash = header.seq, sealed.bundle_hash
    _audit(ctx, session, row, f"{row.kind}.sealed")


def _blobs(ctx: HubContext, blob_ids: Sequence[str]) -> Iterator[Blob]:
    missing = 0
    for blob_id in blob_ids:
        path = ctx.config.blobs_dir / blob_id.removeprefix("b2:")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            missing += 1
            continue
        # The hub keeps blob bytes only: their type is read back from them.
        yield Blob.of(data, sniff_media_type(data))
    if missing:  # one line per package, however many: a log must not flood
        _log.warning(
            "%d referenced blobs are not held here; the package goes without them", missing
        )


def _audit(ctx: HubContext, session: Session, row: UpBundle, action: str) -> None:
    append_audit(
        session,
        at=ctx.now(),
        actor=row.authorised_by or ctx.site,
        action=action,
        subject=row.bundle_id,
        details={"seq": row.seq, "ops": row.op_count, "to": row.recipient},
    )
