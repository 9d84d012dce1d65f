"""Staging: read a verified delta bundle as a stream and run it against the store.

The pass runs the merge itself (:mod:`hub.merge`) inside the caller's transaction, one
chunk of ops at a time (memory stays flat whatever the bundle's size), and counts what
it finds: new records, changed fields (old → new), parallel updates, conflicts,
duplicates (other towns included), identity edits, deletes and merges, and
validation warnings. The caller commits (a clean bundle under an auto-approve
policy, or an approved one) or rolls back and keeps only the findings (a bundle
for review). Checks on the way, each a typed error that fails the bundle:

- the payload passes steps 5–7 of docs/protocol.md;
- entry 0 is the batch manifest, and it matches the header's authorisation
  (batch, origin, count and manifest hash: :func:`verify_authorisation`);
- the ops follow in manifest order, every manifest op present and no other;
- the answers to cross-check problems are the ones the authorisation covers
  (:func:`verify_answers`);
- every op was made at the sender; other entries are blobs.

Findings other than new records go to a spool file (msgpack), never a list, and
are stored as ``stage_items`` rows by the caller.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
from sqlalchemy.orm import Session

from hub.context import HubContext, give_up_if_stopping
from hub.crosscheck.answers import receive_answers
from hub.faults import fault
from hub.merge import apply_chunk
from hub.rawstore import bundle_path
from hub.store.bulk import insert_op_batch
from hub.store.models import BundleRow, StageItem
from hub.upward.provenance import keep_manifest
from node.fsutil import write_atomic
from protocol.bundle import open_bundle
from protocol.entries import (
    AnswerOrigin,
    Blob,
    Manifest,
    ProblemAnswer,
    decode_entry,
    entry_bytes,
)
from protocol.errors import AuthorisationError, EntryError
from protocol.merge import FieldPolicy, Outcome, OutcomeKind
from protocol.ops import Op, OpKind
from protocol.trust import (
    Authorisation,
    CertificateTrust,
    answer_digest,
    verify_answers,
    verify_authorisation,
)
from protocol.validation import Problem, validate_record, validate_value

__all__ = ["ItemSpool", "StagePass", "Summary", "run_pass"]


@dataclass(slots=True)
class Summary:
    """What a pass found (stored on the bundle row as JSON)."""

    ops: int = 0
    new_records: int = 0
    changed_records: int = 0
    changes: int = 0
    parallel_updates: int = 0
    conflicts: int = 0
    duplicates: int = 0
    identity_edits: int = 0
    record_ops: int = 0
    warnings: int = 0
    already_applied: int = 0
    blobs: int = 0
    #: Answers to cross-check problems (hub/crosscheck/answers.py): applied here, to
    #: pass up, or ignored. They never make a bundle need review.
    answers: int = 0

    @property
    def clean(self) -> bool:
        """Nothing a reviewer must see: auto-approvable."""
        return not (
            self.conflicts
            or self.duplicates
            or self.identity_edits
            or self.record_ops
            or self.warnings
        )

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "clean": self.clean}


class ItemSpool:
    """Findings written to a temporary file as they come, read back to be stored."""

    def __init__(self, scratch: Path) -> None:
        scratch.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="stage-", suffix=".items", dir=scratch)
        self.path = Path(name)
        self._file = os.fdopen(fd, "w+b")
        self._packer = msgpack.Packer(use_bin_type=True)
        self.count = 0

    def add(
        self, kind: str, record_id: str, op_id: str | None, field: str | None, data: dict[str, Any]
    ) -> None:
        self._file.write(self._packer.pack((kind, record_id, op_id, field, data)))
        self.count += 1

    def rewind(self) -> None:
        """Forget what was spooled (a pass that is run again)."""
        self._file.seek(0)
        self._file.truncate()
        self.count = 0

    def store(self, session: Session, bundle: int) -> int:
        """Insert every finding as a ``stage_items`` row of ``bundle``."""
        self._file.flush()
        self._file.seek(0)
        batch: list[StageItem] = []
        for kind, record_id, op_id, field, data in msgpack.Unpacker(self._file, raw=False):
            batch.append(
                StageItem(
                    bundle=bundle,
                    kind=kind,
                    record_id=record_id,
                    op_id=op_id,
                    field=field,
                    data=data,
                )
            )
            if len(batch) >= 2000:
                session.add_all(batch)
                session.flush()
                batch = []
        session.add_all(batch)
        session.flush()
        self._file.seek(0, os.SEEK_END)
        return self.count

    def close(self) -> None:
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _problems(problems: tuple[Problem, ...]) -> list[dict[str, str]]:
    return [
        {"field": p.field, "code": p.code, "message_zh": p.message_zh, "message_en": p.message_en}
        for p in problems
    ]


class StagePass:
    """One pass of a bundle's ops through the merge, chunk by chunk, counting what it finds.

    Shared by delta staging (here) and package staging (hub/package_intake.py): the caller
    appends checked ops to ``chunk`` and calls :meth:`flush` every ``merge_chunk_ops``.
    """

    def __init__(
        self,
        ctx: HubContext,
        session: Session,
        row: BundleRow,
        spool: ItemSpool,
        *,
        write_blobs: bool,
    ) -> None:
        self.ctx, self.session, self.row, self.spool = ctx, session, row, spool
        self.write_blobs = write_blobs
        self.summary = Summary()
        self.policy: FieldPolicy = ctx.schema.field_policy()
        self.chunk: list[Op] = []
        self.chunk_no = 0

    def warn(self, op: Op, today: Any) -> None:
        schema, divisions = self.ctx.schema, self.ctx.divisions
        if op.kind is OpKind.CREATE:
            problems = validate_record(op.create_map(), schema, today=today, divisions=divisions)
        elif op.kind is OpKind.SET and op.field is not None:
            problem = validate_value(op.field, op.value, schema, today=today, divisions=divisions)
            problems = (problem,) if problem is not None else ()
        else:
            return
        if problems:
            self.summary.warnings += 1
            self.spool.add(
                "warning", op.record_id, op.op_id, op.field, {"problems": _problems(problems)}
            )

    def flush(self) -> None:
        if not self.chunk:
            return
        # Between two chunks is where a stopping hub gives the pass up: the caller rolls
        # the whole transaction back, so the bundle is merged whole on a later pass or
        # not at all, and the process exits within one chunk instead of the whole pass.
        give_up_if_stopping(self.ctx, f"the pass of bundle {self.row.bundle_id}")
        result = apply_chunk(self.session, self.chunk, self.policy)
        insert_op_batch(
            self.session,
            bundle=self.row.id,
            source="bundle",
            chunk=self.chunk_no,
            canonical=[op.canonical_bytes for op in self.chunk],
        )
        self.summary.new_records += result.new_records
        self.summary.changed_records += result.changed_records
        for outcome in result.outcomes:
            self.record(outcome)
        self.chunk = []
        self.chunk_no += 1
        fault("stage.chunk_applied")

    def record(self, outcome: Outcome) -> None:
        s = self.summary
        kind = outcome.kind
        if kind is OutcomeKind.ALREADY_APPLIED:
            s.already_applied += 1
            return
        if kind is OutcomeKind.DUPLICATE:
            s.duplicates += 1
            self.spool.add(
                "duplicate",
                outcome.record_id,
                outcome.op_id,
                outcome.field,
                {"others": list(outcome.others)},
            )
            return
        if kind is OutcomeKind.CONFLICT:
            s.conflicts += 1
            self.spool.add(
                "conflict",
                outcome.record_id,
                outcome.op_id,
                outcome.field,
                {
                    "old": _plain(outcome.old),
                    "new": _plain(outcome.new),
                    "values": [_plain(v) for v in outcome.values],
                    "heads": list(outcome.heads),
                    "needs_review": outcome.needs_review,
                },
            )
            return
        if outcome.field is None:
            return  # a create: counted as a new record when written
        parallel = kind is OutcomeKind.PARALLEL_UPDATE
        if parallel:
            s.parallel_updates += 1
        else:
            s.changes += 1
        if outcome.needs_review:
            s.identity_edits += 1
        self.spool.add(
            "parallel" if parallel else "change",
            outcome.record_id,
            outcome.op_id,
            outcome.field,
            {
                "old": _plain(outcome.old),
                "new": _plain(outcome.new),
                "needs_review": outcome.needs_review,
            },
        )

    def blob(self, blob: Blob) -> None:
        self.summary.blobs += 1
        if not self.write_blobs:
            return
        directory = self.ctx.config.blobs_dir
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / blob.blob_id.replace("b2:", "")
        if not path.exists():
            write_atomic(path, blob.data, mode=0o640)


def _check_manifest(
    ctx: HubContext, session: Session, row: BundleRow, value: object, auth: Authorisation
) -> Manifest:
    if not isinstance(value, Manifest):
        raise EntryError(f"bundle {row.bundle_id}: entry 0 must be the batch manifest", entry=0)
    if value.auth is not None and value.auth.to_dict() != auth.to_dict():
        raise AuthorisationError(
            f"bundle {row.bundle_id}: the manifest's authorisation differs from the header's"
        )
    if value.batch_id != auth.batch_id or value.origin != row.sender:
        raise AuthorisationError(
            f"bundle {row.bundle_id}: manifest of batch {value.batch_id} from {value.origin}, "
            f"authorisation of batch {auth.batch_id} from {auth.origin}"
        )
    verify_authorisation(
        auth, op_ids=value.op_ids, store=ctx.trust(session), origin=row.sender or ""
    )
    return value


def run_pass(
    ctx: HubContext, session: Session, row: BundleRow, spool: ItemSpool, *, write_blobs: bool
) -> Summary:
    """Open ``row``'s bundle and merge its ops into the store (in the caller's transaction).

    Raises:
        BundleError: steps 5–7 of docs/protocol.md fail (or 1–4, if the file changed).
        EntryError: an entry is malformed or has no place in a delta.
        AuthorisationError: the manifest does not match the authorisation or the ops.
        TrustError: the approver's certificate is no longer acceptable.
        StoppingError: the hub began to stop; the pass was given up between two chunks.
    """
    if row.kind != "delta" or not row.sender or row.created is None:
        raise EntryError(f"bundle {row.bundle_id}: only delta bundles are staged")
    work = StagePass(ctx, session, row, spool, write_blobs=write_blobs)
    today = row.created.date()
    trust = CertificateTrust(ctx.trust(session), row.received_at)
    path = bundle_path(ctx.config.bundles_dir, row.bundle_hash)
    with path.open("rb") as source:
        opened = open_bundle(
            source, trust=trust, identities=ctx.identities, limits=ctx.config.limits
        )
        fault("stage.opened")
        if opened.header.auth is None:
            raise AuthorisationError(f"bundle {row.bundle_id}: a delta needs an authorisation")
        auth = Authorisation.from_dict(opened.header.auth)
        manifest: Manifest | None = None
        answers: list[ProblemAnswer] = []
        position = 0
        entries = opened.entries()
        try:
            for index, raw in enumerate(entries):
                value = decode_entry(raw, index)
                if manifest is None:
                    manifest = _check_manifest(ctx, session, row, value, auth)
                    # Kept for provenance: the packages for the parent carry it.
                    keep_manifest(
                        session, bundle=row.id, source="bundle", manifest=manifest, auth=auth
                    )
                    continue
                if isinstance(value, Op):
                    _check_op(row, manifest, position, value, index)
                    position += 1
                    work.summary.ops += 1
                    if value.kind in (OpKind.DELETE, OpKind.MERGE_INTO):
                        work.summary.record_ops += 1
                    work.warn(value, today)
                    work.chunk.append(value)
                    if len(work.chunk) >= ctx.config.merge_chunk_ops:
                        work.flush()
                elif isinstance(value, Blob):
                    work.blob(value)
                elif isinstance(value, ProblemAnswer):
                    answers.append(value)
                else:
                    raise EntryError(
                        f"entry {index}: a {type(value).__name__} has no place in a delta",
                        entry=index,
                    )
        finally:
            getattr(entries, "close", lambda: None)()
    work.flush()
    expected = len(manifest.op_ids) if manifest is not None else 0
    if manifest is None or position != expected:
        raise AuthorisationError(
            f"bundle {row.bundle_id}: the manifest lists {expected} ops, the bundle carries "
            f"{position}"
        )
    encoded = [entry_bytes(answer) for answer in answers]
    verify_answers(auth, encoded)
    # Kept with the answers: a hub above checks the approver's signature on each one.
    origins = (
        [AnswerOrigin(auth=auth, digests=tuple(map(answer_digest, encoded)))] if encoded else []
    )
    # In this transaction: an answer counts when its bundle merges, never if it is refused.
    receive_answers(ctx, session, answers, sender=row.sender, origins=origins, bundle=row.id)
    work.summary.answers = len(answers)
    return work.summary


def _check_op(row: BundleRow, manifest: Manifest, position: int, op: Op, index: int) -> None:
    if position >= len(manifest.op_ids) or op.op_id != manifest.op_ids[position]:
        raise AuthorisationError(
            f"bundle {row.bundle_id}: entry {index} is op {op.op_id}, not op {position + 1} of "
            "the manifest the approver signed",
            entry=index,
        )
    if op.site != row.sender:
        raise EntryError(
            f"entry {index}: op {op.op_id} was made at {op.site}, not at the sender {row.sender}",
            entry=index,
        )
