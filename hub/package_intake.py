"""Packages from child hubs: provenance checked for every op, then staged and merged.

Intake (hub/verify.py) takes a ``package`` from a hub certified inside this hub's
jurisdiction whose header carries an administrator's authorisation. Staging reads it as
a stream, in the order of docs/federation.md §2, each step a typed error that fails the
bundle (its sender gets a ``decisions`` bundle saying why):

1. ``cert`` entries: certificates not known here must lie inside the sender's
   jurisdiction and be signed by an issuer known here or earlier in the package; they
   are installed (with the bundle's merge: a package held for review installs them
   again when it merges);
2. ``crl`` entries: revocation lists of issuers inside the sender's jurisdiction,
   installed when newer than the one held;
3. ``manifest`` entries: each authorisation verified (``protocol.provenance``: an
   approver of the node, or an administrator of the hub, valid at the signing time);
   the package's own manifest (from the sender, the header's batch) must be among them.
   Which manifests hold which op goes to a scratch SQLite table, so memory stays flat
   whatever the package's size; the manifests are kept (``manifests``) for the
   provenance of every op and for the packages this hub sends further up;
4. ``op`` entries, in the order of the package's own manifest (every op present, no
   other), ``merge_chunk_ops`` at a time: every op's provenance is verified
   (:func:`protocol.provenance.verify_provenance`: an authorised batch at its origin and
   a manifest of every hub on the way, from the certificate tree), then the chunk is
   merged as a delta's would be (hub/stage.py);
5. ``blob`` entries;
6. ``origin`` entries: where the answers below were signed, each an approver's
   authorisation at a node inside the sender's jurisdiction (verified as a manifest's,
   at its signing time) with the digests of that batch's answers;
7. ``answer`` entries: collectors' answers to cross-check problems, passed up from
   below, exactly the ones the package's authorisation covers, each among the
   digests of an origin; they go to the cross-check (hub/crosscheck/answers.py) with
   the merge.

A package is *clean* when merging it found no conflict, duplicate or validation
warning: identity edits, deletes and merges in it were reviewed by the hubs below. The
review policy is the hub's (``auto_approve_levels``, by the sender's level).

When an administrator resolves a package's findings, the resolution ops go down to
every child holding a record they touch (:func:`resolutions_down`): the sender with the
decision, the other children with their ops — a duplicate found between two cities
reaches both.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.crosscheck.answers import receive_answers
from hub.downward import queue_down
from hub.rawstore import bundle_path
from hub.stage import ItemSpool, StagePass, Summary
from hub.store.models import BundleRow, RecordRow
from hub.trust import install_certificates, install_revocation_list
from hub.upward.provenance import keep_manifest
from protocol.bundle import BundleKind, open_bundle
from protocol.divisions import contains
from protocol.entries import (
    AnswerOrigin,
    Blob,
    Decision,
    DecisionStatus,
    Manifest,
    ProblemAnswer,
    decode_entry,
    entry_bytes,
)
from protocol.errors import (
    AuthorisationError,
    ChainError,
    EntryError,
    NameConstraintError,
    TrustError,
)
from protocol.ops import Op
from protocol.provenance import ProvenanceIndex, is_node, verify_provenance
from protocol.trust import (
    Authorisation,
    Certificate,
    CertificateTrust,
    RevocationList,
    Role,
    TrustStore,
    site_of,
    verify_answers,
    verify_authorisation,
)

__all__ = ["PackageSummary", "resolutions_down", "run_package_pass"]

_CERT, _CRL, _MANIFEST, _OP, _BLOB, _ORIGIN, _ANSWER, _END = range(8)
_PHASE_NAMES: Final = (
    "certificate", "revocation list", "manifest", "op", "blob", "answer origin", "answer"
)  # fmt: skip
_QUERY_CHUNK: Final = 500


@dataclass(slots=True)
class PackageSummary(Summary):
    """What staging a package found; its own entries counted too."""

    certificates: int = 0
    revocation_lists: int = 0
    manifests: int = 0

    @property
    def clean(self) -> bool:
        """No conflict, duplicate or warning arose here (the hubs below reviewed the rest)."""
        return not (self.conflicts or self.duplicates or self.warnings)


class _Holders:
    """Which manifests hold which op: a scratch SQLite table, so memory stays flat.

    The manifests themselves are kept here without their op ids (origin, batch and
    authorisation are all provenance needs once the authorisation is verified).
    """

    def __init__(self, scratch: Path) -> None:
        scratch.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="holders-", suffix=".db", dir=scratch)
        os.close(fd)
        self.path = Path(name)
        self.db = sqlite3.connect(name)
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("CREATE TABLE holds (op BLOB NOT NULL, manifest INTEGER NOT NULL)")
        self.manifests: list[Manifest] = []

    def add(self, manifest: Manifest) -> None:
        index = len(self.manifests)
        self.manifests.append(
            Manifest(batch_id=manifest.batch_id, origin=manifest.origin, op_ids=(),
                     auth=manifest.auth)
        )  # fmt: skip
        self.db.executemany(
            "INSERT INTO holds VALUES (?, ?)",
            ((bytes.fromhex(op_id), index) for op_id in manifest.op_ids),
        )

    def seal(self) -> None:
        self.db.execute("CREATE INDEX holds_op ON holds (op)")

    def holding(self, op_ids: Sequence[str]) -> dict[str, tuple[Manifest, ...]]:
        found: defaultdict[str, list[Manifest]] = defaultdict(list)
        for start in range(0, len(op_ids), _QUERY_CHUNK):
            part = [bytes.fromhex(o) for o in op_ids[start : start + _QUERY_CHUNK]]
            marks = ",".join("?" * len(part))
            for op, index in self.db.execute(
                f"SELECT op, manifest FROM holds WHERE op IN ({marks})",  # noqa: S608 - marks only
                part,
            ):
                found[bytes(op).hex()].append(self.manifests[index])
        return {k: tuple(v) for k, v in found.items()}

    def close(self) -> None:
        self.db.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _learn(store: TrustStore, certs: Sequence[Certificate], sender: str) -> list[Certificate]:
    """The package's certificates not known here, each checked: inside the sender's
    jurisdiction, and signed by an issuer known here or earlier in the package.

    Raises:
        NameConstraintError: a certificate lies outside the sender's jurisdiction.
        ChainError: a certificate's issuer is unknown, or its signature fails.
    """
    known = {c.serial for c in store.certificates}
    new = [c for c in {c.serial: c for c in certs}.values() if c.serial not in known]
    site = site_of(sender)
    for cert in new:
        if not contains(site, cert.site):
            raise NameConstraintError(
                f"package from {sender}: certificate {cert.serial} of {cert.subject} lies "
                f"outside the sender's jurisdiction"
            )
    accepted: list[Certificate] = []
    waiting = list(new)
    while waiting:
        view = store.with_certificates(accepted)
        still: list[Certificate] = []
        for cert in waiting:
            if _signed_by_known(view, cert):
                accepted.append(cert)
            else:
                still.append(cert)
        if len(still) == len(waiting):
            cert = still[0]
            raise ChainError(
                f"package from {sender}: certificate {cert.serial} of {cert.subject}: its "
                f"issuer {cert.issuer} is neither known here nor in the package, or its "
                "signature fails"
            )
        waiting = still
    return accepted


def _signed_by_known(store: TrustStore, cert: Certificate) -> bool:
    if cert.issuer == store.anchor.subject:
        keys = [store.anchor.key] if cert.issuer_key_id == store.anchor.key.key_id else []
    else:
        keys = [c.sign_key for c in store.find(cert.issuer, cert.issuer_key_id)]
    for key in keys:
        with contextlib.suppress(TrustError):
            cert.verify_signature(key)
            return True
    return False


class _PackagePass:
    """One package, read in order (see the module docstring)."""

    def __init__(
        self,
        ctx: HubContext,
        session: Session,
        row: BundleRow,
        work: StagePass,
        auth: Authorisation,
    ) -> None:
        self.ctx, self.session, self.row, self.work, self.auth = ctx, session, row, work, auth
        self.sender = row.sender or ""
        self.summary = PackageSummary()
        work.summary = self.summary
        self.phase = _CERT
        self.certs: list[Certificate] = []
        self.crls: list[RevocationList] = []
        self.own: Manifest | None = None
        self.holders = _Holders(ctx.config.scratch_dir)
        self.position = 0
        self.pending: list[Op] = []
        self.origins: list[AnswerOrigin] = []
        self.answers: list[ProblemAnswer] = []
        assert row.created is not None
        self.today = row.created.date()

    def add(self, value: object, index: int) -> None:
        phase = _phase_of(value, index)
        if phase < self.phase:
            raise EntryError(
                f"entry {index}: a {_PHASE_NAMES[phase]} after the {_PHASE_NAMES[self.phase]} "
                "entries (a package holds certificates, revocation lists, manifests, ops, "
                "blobs, answer origins and answers, in that order)",
                entry=index,
            )
        self.advance(phase)
        if isinstance(value, Certificate):
            self.certs.append(value)
        elif isinstance(value, RevocationList):
            self.crls.append(value)
        elif isinstance(value, Manifest):
            self.manifest(value)
        elif isinstance(value, Op):
            self.op(value, index)
        elif isinstance(value, Blob):
            self.work.blob(value)
        elif isinstance(value, AnswerOrigin):
            self.origin(value)
        elif isinstance(value, ProblemAnswer):
            self.answers.append(value)

    def advance(self, phase: int) -> None:
        while self.phase < phase:
            self.leave(self.phase)
            self.phase += 1

    def leave(self, phase: int) -> None:
        if phase == _CERT:
            learned = _learn(self.ctx.trust(self.session), self.certs, self.sender)
            install_certificates(self.session, learned, source="package")
            self.summary.certificates = len(learned)
        elif phase == _CRL:
            for crl in self.crls:
                if not contains(site_of(self.sender), site_of(crl.issuer)):
                    raise NameConstraintError(
                        f"package from {self.sender}: a revocation list of {crl.issuer}, "
                        "outside the sender's jurisdiction"
                    )
                if install_revocation_list(self.ctx, self.session, crl):
                    self.summary.revocation_lists += 1
        elif phase == _MANIFEST:
            if self.own is None:
                raise AuthorisationError(
                    f"bundle {self.row.bundle_id}: no manifest of batch {self.auth.batch_id} "
                    f"from {self.sender}, the package's own"
                )
            self.holders.seal()
        elif phase == _OP:
            self.check_and_merge()
            assert self.own is not None
            if self.position != len(self.own.op_ids):
                raise AuthorisationError(
                    f"bundle {self.row.bundle_id}: the package's manifest lists "
                    f"{len(self.own.op_ids)} ops, the package carries {self.position}"
                )

    def manifest(self, manifest: Manifest) -> None:
        if manifest.origin == self.sender and manifest.batch_id == self.auth.batch_id:
            if manifest.auth is not None and manifest.auth.to_dict() != self.auth.to_dict():
                raise AuthorisationError(
                    f"bundle {self.row.bundle_id}: the package's manifest carries another "
                    "authorisation than its header"
                )
            manifest = Manifest(
                batch_id=manifest.batch_id, origin=manifest.origin, op_ids=manifest.op_ids,
                auth=self.auth,
            )  # fmt: skip
            self.own = manifest
        ProvenanceIndex.build([manifest], store=self.ctx.trust(self.session))
        assert manifest.auth is not None
        self.holders.add(manifest)
        keep_manifest(
            self.session, bundle=self.row.id, source="bundle", manifest=manifest, auth=manifest.auth
        )
        self.summary.manifests += 1

    def origin(self, origin: AnswerOrigin) -> None:
        """Check where some answers were signed: an approver at a node below the sender."""
        auth = origin.auth
        if not is_node(auth.origin) or not contains(site_of(self.sender), site_of(auth.origin)):
            raise NameConstraintError(
                f"package from {self.sender}: answers signed for {auth.origin}, not a node "
                "inside the sender's jurisdiction"
            )
        verify_authorisation(
            auth, op_ids=None, store=self.ctx.trust(self.session), origin=auth.origin
        )
        self.origins.append(origin)

    def op(self, op: Op, index: int) -> None:
        own = self.own
        assert own is not None
        if self.position >= len(own.op_ids) or op.op_id != own.op_ids[self.position]:
            raise AuthorisationError(
                f"bundle {self.row.bundle_id}: entry {index} is op {op.op_id}, not op "
                f"{self.position + 1} of the package's manifest",
                entry=index,
            )
        self.position += 1
        self.pending.append(op)
        if len(self.pending) >= self.ctx.config.merge_chunk_ops:
            self.check_and_merge()

    def check_and_merge(self) -> None:
        """Verify the provenance of the ops read so far, then merge them."""
        ops = self.pending
        if not ops:
            return
        containing = self.holders.holding([op.op_id for op in ops])
        verify_provenance(
            ops,
            index=ProvenanceIndex(by_origin={}, containing=containing),
            receiver=self.ctx.site,
            sender=self.sender,
            store=self.ctx.trust(self.session),
        )
        work = self.work
        for op in ops:
            work.summary.ops += 1
            work.warn(op, self.today)
            work.chunk.append(op)
        work.flush()
        self.pending = []

    def close(self) -> None:
        self.holders.close()


def _phase_of(value: object, index: int) -> int:
    phases: tuple[tuple[type, int], ...] = (
        (Certificate, _CERT),
        (RevocationList, _CRL),
        (Manifest, _MANIFEST),
        (Op, _OP),
        (Blob, _BLOB),
        (AnswerOrigin, _ORIGIN),
        (ProblemAnswer, _ANSWER),
    )
    for kind, phase in phases:
        if isinstance(value, kind):
            return phase
    raise EntryError(
        f"entry {index}: a {type(value).__name__} has no place in a package", entry=index
    )


def run_package_pass(
    ctx: HubContext, session: Session, row: BundleRow, spool: ItemSpool, *, write_blobs: bool
) -> Summary:
    """Open ``row``'s package, check it and merge its ops (in the caller's transaction).

    Raises:
        BundleError: steps 5–7 of docs/protocol.md fail.
        EntryError: an entry is malformed, out of order or has no place in a package.
        AuthorisationError: the package's manifest is missing, or differs from its ops.
        ProvenanceError: an op lacks valid provenance (the error names it).
        TrustError: a certificate or revocation list it carries is not acceptable.
        StoppingError: the hub began to stop; the pass was given up between two chunks.
    """
    if row.kind != BundleKind.PACKAGE.value or not row.sender or row.created is None:
        raise EntryError(f"bundle {row.bundle_id}: not a package")
    trust = CertificateTrust(ctx.trust(session), row.received_at)
    work = StagePass(ctx, session, row, spool, write_blobs=write_blobs)
    path = bundle_path(ctx.config.bundles_dir, row.bundle_hash)
    with path.open("rb") as source:
        opened = open_bundle(
            source, trust=trust, identities=ctx.identities, limits=ctx.config.limits
        )
        if opened.header.auth is None:
            raise AuthorisationError(f"bundle {row.bundle_id}: a package needs an authorisation")
        auth = Authorisation.from_dict(opened.header.auth)
        package = _PackagePass(ctx, session, row, work, auth)
        entries = opened.entries()
        try:
            for index, raw in enumerate(entries):
                package.add(decode_entry(raw, index), index)
            package.advance(_END)
        finally:
            getattr(entries, "close", lambda: None)()
            package.close()
    # The administrator who authorised the package vouches for the answers it passes up,
    # and each one's origin for the approver who signed it at the node.
    verify_answers(auth, [entry_bytes(answer) for answer in package.answers])
    # In the merging transaction, as a delta's answers (hub/stage.py).
    receive_answers(
        ctx, session, package.answers, sender=row.sender, origins=package.origins, bundle=row.id
    )
    package.summary.answers = len(package.answers)
    return package.summary


def _child_of(children: Iterable[Certificate], site: str) -> str | None:
    """The child (a hub or node this hub certified) whose site holds ``site``, most
    specific first."""
    best: Certificate | None = None
    for cert in children:
        if contains(cert.site, site) and (best is None or len(cert.site) > len(best.site)):
            best = cert
    return best.subject if best is not None else None


def resolutions_down(
    ctx: HubContext, session: Session, row: BundleRow, ops: Sequence[Op], *, by: str
) -> int:
    """Send a reviewed package's decision and resolution ops down; return the bundles queued.

    Each op goes to the child that holds its record (by the site that created it); the
    package's sender gets the decision with its share, every other child its share.
    """
    assert row.sender is not None
    assert row.bundle_id is not None
    store = ctx.trust(session)
    children = [
        c for c in store.certificates if c.issuer == ctx.site and c.role in (Role.HUB, Role.NODE)
    ]
    sites = dict(
        session.execute(
            sa.select(RecordRow.record_id, RecordRow.site).where(
                RecordRow.record_id.in_(sorted({op.record_id for op in ops}))
            )
        ).all()
    )
    shares: dict[str, list[Op]] = {row.sender: []}
    for op in ops:
        holder = _child_of(children, sites.get(op.record_id, "")) or row.sender
        shares.setdefault(holder, []).append(op)
    decision = Decision(
        bundle_id=row.bundle_id,
        status=DecisionStatus.APPROVED,
        reason="",
        by=by,
        decided_at=ctx.now(),
        record_ids=tuple(sorted({op.record_id for op in ops})),
    )
    for child, share in shares.items():
        entries: list[Any] = [decision, *share] if child == row.sender else list(share)
        queue_down(
            ctx,
            session,
            recipient=child,
            kind=BundleKind.DECISIONS,
            entries=entries,
            about=row.id,
        )
    return len(shares)
