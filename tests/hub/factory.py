"""Authorised delta bundles from the test PKI's town node, as a node would seal them."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from protocol.bundle import BundleKind
from protocol.entries import Manifest, ProblemAnswer, encode_entry, entry_bytes
from protocol.hlc import Timestamp
from protocol.ops import Op, OpKind
from protocol.sample import realistic_record
from protocol.trust import authorise
from tests.pki import NOW, Party, Pki, seal

TODAY = date(2026, 11, 29)


def record_id(n: int, salt: str = "") -> str:
    return str(
        uuid.UUID(bytes=hashlib.blake2b(f"{salt}{n}".encode(), digest_size=16).digest(), version=4)
    )


class DeltaFactory:
    """Makes ops and seals them as the node's stream of delta bundles."""

    def __init__(self, pki: Pki, node: str = "node", approver: str = "approver") -> None:
        self.pki = pki
        self.node: Party = pki[node]
        self.approver: Party = pki[approver]
        self.rng = random.Random(7)
        self.wall = int(NOW.timestamp() * 1000) - 3_600_000
        self.seq = 0
        self.prev: str | None = None

    def tick(self) -> Timestamp:
        self.wall += 1
        return Timestamp(wall_ms=self.wall, counter=0, node=self.node.subject)

    def record(self, division: str = "370102001") -> dict[str, object]:
        return realistic_record(
            self.rng, category="retired_soldier", division_code=division, today=TODAY
        )

    def create(self, rid: str, values: dict[str, object] | None = None) -> Op:
        return Op(
            kind=OpKind.CREATE,
            record_id=rid,
            value=values or self.record(),
            hlc=self.tick(),
            author="collector-1",
            site=self.node.subject,
        )

    def set(
        self,
        rid: str,
        field: str,
        value: object,
        base: Sequence[str],
        record_base: str | None = None,
    ) -> Op:
        return Op(
            kind=OpKind.SET,
            record_id=rid,
            field=field,
            value=value,
            base=tuple(base),
            record_base=record_base,
            hlc=self.tick(),
            author="collector-1",
            site=self.node.subject,
        )

    def bundle(
        self,
        ops: Sequence[Op],
        *,
        extra: Iterable[Any] = (),
        answers: Sequence[ProblemAnswer] = (),
        signed_answers: Sequence[ProblemAnswer] | None = None,
        seq: int | None = None,
        prev: str | bool | None = True,
        advance: bool = True,
        batch: str | None = None,
        manifest_ops: Sequence[str] | None = None,
        auth: dict[str, Any] | bool | None = True,
        to: Party | None = None,
        sender: Party | None = None,
        bundle_id: str | None = None,
    ) -> tuple[bytes, str]:
        """Seal ``ops`` as the next bundle of the node's stream; return (bytes, hash).

        ``answers`` go last and the approver's authorisation covers them, as a node
        sends them (``signed_answers``, when given, is what the approver signed instead);
        entries in ``extra`` are carried without being authorised.
        """
        sender = sender or self.node
        op_ids = [op.op_id for op in ops]
        batch = batch or hashlib.blake2b(repr(op_ids).encode(), digest_size=16).hexdigest()
        signed = authorise(
            key=self.approver.keys.signing,
            by=self.approver.subject,
            batch_id=batch,
            origin=sender.subject,
            op_ids=list(manifest_ops) if manifest_ops is not None else op_ids,
            signed_at=NOW,
            answers=[
                entry_bytes(answer)
                for answer in (answers if signed_answers is None else signed_answers)
            ],
        )
        manifest = Manifest(
            batch_id=batch,
            origin=sender.subject,
            op_ids=tuple(manifest_ops) if manifest_ops is not None else tuple(op_ids),
        )
        entries = [
            encode_entry(manifest),
            *(encode_entry(op) for op in ops),
            *extra,
            *(encode_entry(answer) for answer in answers),
        ]
        number = seq if seq is not None else self.seq + 1
        previous = self.prev if prev is True else (prev or None)
        header_auth = signed.to_dict() if auth is True else (auth or None)
        data, sealed = seal(
            entries,
            sender=sender,
            to=to or self.pki["district"],
            kind=BundleKind.DELTA,
            seq=number,
            prev=previous,
            bundle_id=bundle_id
            or hashlib.blake2b(repr((number, op_ids)).encode(), digest_size=16).hexdigest(),
            auth=header_auth,
        )
        if advance:
            self.seq, self.prev = number, sealed.bundle_hash
        return data, sealed.bundle_hash
