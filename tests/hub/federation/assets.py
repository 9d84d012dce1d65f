"""One named package per attack on provenance, as a dishonest or broken child hub would
send it (the sigstore habit: one asset per way of going wrong).

Each asset is sealed by a hub for its parent (the district 370102 for the city 370100,
unless it says otherwise), with the sender's own administrator key authorising it (its
certificate inside, as a real package carries it), so everything a parent checks at
intake passes: what is wrong is inside.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from protocol.bundle import BundleKind
from protocol.entries import (
    AnswerOrigin,
    AnswerReason,
    Manifest,
    ProblemAnswer,
    encode_entry,
    entry_bytes,
)
from protocol.ops import Op
from protocol.trust import Certificate, Role, answer_digest, authorise, issue_certificate
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.federation.uptree import UpTree
from tests.pki import NOW, VALID_FROM, VALID_UNTIL, Party, seal, seeded_key, serial_for


class Forge:
    """Packages from ``sender`` to ``to``, with whatever entries a test wants."""

    def __init__(self, tree: UpTree, sender: str = "district", to: str = "city") -> None:
        self.tree = tree
        self.pki = tree.pki
        self.sender: Party = self.pki[sender]
        self.to: Party = self.pki[to]
        self.site = self.sender.subject
        self.auto = f"{self.site}/auto"
        self.key = seeded_key(f"auto {self.site}")
        self.auto_cert = issue_certificate(
            issuer_key=self.sender.keys.signing,
            issuer=self.site,
            serial=serial_for(f"forged auto {self.site}"),
            subject=self.auto,
            role=Role.ADMIN,
            sign_key=self.key.public_key,
            age=None,
            not_before=VALID_FROM,
            not_after=VALID_UNTIL,
        )
        self.town = DeltaFactory(self.pki)
        #: What the parent must learn besides the sender's key: the town, and the
        #: district when the sender is the city.
        self.below = (
            ("node", "approver") if sender == "district" else ("district", "node", "approver")
        )

    def chain(self) -> list[Certificate]:
        """The certificates an honest package carries for the town's ops."""
        below = (c for n in self.below if (c := self.pki[n].cert) is not None)
        return [self.auto_cert, *below]

    def creates(self, count: int, salt: str = "forged") -> list[Op]:
        return [self.town.create(record_id(i, salt=salt)) for i in range(count)]

    def node_batch(self, ops: Sequence[Op]) -> Manifest:
        """The town's batch of ``ops``, authorised by its approver."""
        op_ids = tuple(op.op_id for op in ops)
        batch = hashlib.blake2b(repr(op_ids).encode(), digest_size=16).hexdigest()
        auth = authorise(
            key=self.pki["approver"].keys.signing, by=self.pki["approver"].subject,
            batch_id=batch, origin="370102001-01", op_ids=op_ids, signed_at=NOW,
        )  # fmt: skip
        return Manifest(batch_id=batch, origin="370102001-01", op_ids=op_ids, auth=auth)

    def package(
        self,
        *,
        certs: Sequence[Certificate] | None = None,
        manifests: Sequence[Manifest] = (),
        ops: Sequence[Op] = (),
        own_ops: Sequence[str] | None = None,
        extra: Sequence[Any] = (),
        before: Sequence[Any] = (),
        seq: int = 1,
        prev: str | None = None,
        header_auth: bool = True,
        origins: Sequence[AnswerOrigin] = (),
        answers: Sequence[ProblemAnswer] = (),
    ) -> tuple[bytes, str]:
        """Seal a package: ``before``, certificates, manifests, the package's own manifest
        (over ``own_ops``, default the ops' ids), the ops, ``extra``, the answer origins
        and the answers (which the package's authorisation covers)."""
        op_ids = list(own_ops) if own_ops is not None else [op.op_id for op in ops]
        batch = hashlib.blake2b(repr((seq, op_ids)).encode(), digest_size=16).hexdigest()
        auth = authorise(
            key=self.key, by=self.auto, batch_id=batch, origin=self.site, op_ids=op_ids,
            signed_at=NOW, answers=[entry_bytes(answer) for answer in answers],
        )  # fmt: skip
        own = Manifest(batch_id=batch, origin=self.site, op_ids=tuple(op_ids), auth=auth)
        entries = [
            *before,
            *(encode_entry(c) for c in (self.chain() if certs is None else certs)),
            *(encode_entry(m) for m in manifests),
            encode_entry(own),
            *(encode_entry(op) for op in ops),
            *extra,
            *(encode_entry(origin) for origin in origins),
            *(encode_entry(answer) for answer in answers),
        ]
        data, sealed = seal(
            entries,
            sender=self.sender,
            to=self.to,
            kind=BundleKind.PACKAGE,
            seq=seq,
            prev=prev,
            bundle_id=batch,
            auth=auth.to_dict() if header_auth else None,
        )
        return data, sealed.bundle_hash

    def answers_signed(
        self, answers: Sequence[ProblemAnswer], *, node: str = "370102001-01", key: Any = None
    ) -> AnswerOrigin:
        """The origin of ``answers`` given in one batch at ``node``, signed by the town's
        approver (with ``key``, if given, instead of theirs)."""
        encoded = [entry_bytes(answer) for answer in answers]
        approver = self.pki["approver"]
        auth = authorise(
            key=key or approver.keys.signing, by=approver.subject,
            batch_id=hashlib.blake2b(b"".join(encoded), digest_size=16).hexdigest(),
            origin=node, op_ids=[], signed_at=NOW, answers=encoded,
        )  # fmt: skip
        return AnswerOrigin(auth=auth, digests=tuple(map(answer_digest, encoded)))


def answer(note: str = "户籍已迁往历城区", finding: str = "ab" * 16) -> ProblemAnswer:
    """A collector's answer to a finding the province made (the city passes it on)."""
    return ProblemAnswer(
        finding_id=finding, reason=AnswerReason.PERSON_MOVED, note=note,
        by="370102001/zhang.wei", at=NOW,
    )  # fmt: skip


# --- the assets ---------------------------------------------------------------------


def honest(forge: Forge) -> bytes:
    """What a correct package of three new records looks like (the control)."""
    ops = forge.creates(3)
    return forge.package(manifests=[forge.node_batch(ops)], ops=ops)[0]


def op_without_origin_batch(forge: Forge) -> tuple[bytes, Op]:
    """The district slips in a record its town never authorised."""
    ops = forge.creates(3)
    invented = forge.town.create(record_id(99, salt="invented"))
    data, _ = forge.package(manifests=[forge.node_batch(ops)], ops=[*ops, invented])
    return data, invented


def op_authorised_for_another_batch(forge: Forge) -> tuple[bytes, Op]:
    """An op of the town replaced after the approver signed: the manifest signed over
    other op ids, so no authorised batch holds the new one."""
    ops = forge.creates(3)
    batch = forge.node_batch(ops)
    swapped = forge.town.create(record_id(7, salt="swapped"))
    data, _ = forge.package(manifests=[batch], ops=[ops[0], ops[1], swapped])
    return data, swapped


def batch_with_a_forged_signature(forge: Forge) -> bytes:
    """The town's manifest lists an extra op the approver never signed for."""
    ops = forge.creates(3)
    batch = forge.node_batch(ops[:2])
    stretched = Manifest(
        batch_id=batch.batch_id, origin=batch.origin,
        op_ids=tuple(op.op_id for op in ops), auth=batch.auth,
    )  # fmt: skip
    return forge.package(manifests=[stretched], ops=ops)[0]


def batch_without_its_signer_certificate(forge: Forge) -> bytes:
    """The approver's certificate is left out: the parent cannot check the batch."""
    ops = forge.creates(2)
    certs = [c for c in forge.chain() if c.role is not Role.APPROVER]
    return forge.package(certs=certs, manifests=[forge.node_batch(ops)], ops=ops)[0]


def certificate_outside_the_jurisdiction(forge: Forge) -> bytes:
    """A certificate of another district's node rides along."""
    ops = forge.creates(2)
    stranger = forge.pki["other_node"].cert
    assert stranger is not None
    certs = [*forge.chain(), stranger]
    return forge.package(certs=certs, manifests=[forge.node_batch(ops)], ops=ops)[0]


def ops_out_of_manifest_order(forge: Forge) -> bytes:
    """The ops do not follow the package's own manifest."""
    ops = forge.creates(3)
    order = [ops[2].op_id, ops[0].op_id, ops[1].op_id]
    return forge.package(manifests=[forge.node_batch(ops)], ops=ops, own_ops=order)[0]


def certificate_after_the_manifests(forge: Forge) -> bytes:
    """Entries out of the package order (a certificate after an op)."""
    ops = forge.creates(1)
    extra = [encode_entry(forge.auto_cert)]
    return forge.package(manifests=[forge.node_batch(ops)], ops=ops, extra=extra)[0]


def without_authorisation(forge: Forge) -> bytes:
    """No administrator authorised the package (the header's ``auth`` is null)."""
    ops = forge.creates(1)
    return forge.package(manifests=[forge.node_batch(ops)], ops=ops, header_auth=False)[0]


def op_skipping_a_hub(tree: UpTree) -> tuple[bytes, Op]:
    """The city passes on a town's op without the district's package manifest: the
    district, on the way, never authorised it (sealed by the city for the province)."""
    forge = Forge(tree, sender="city", to="province")
    ops = forge.creates(2, salt="skipping")
    return forge.package(manifests=[forge.node_batch(ops)], ops=ops)[0], ops[0]


def answers_honest(forge: Forge) -> bytes:
    """Two answers of one town batch and one of another, passed up with their origins
    (the control)."""
    first, second, third = answer(), answer("登记有误", "cd" * 16), answer("已去世", "ef" * 16)
    origins = [forge.answers_signed([first, second]), forge.answers_signed([third])]
    return forge.package(origins=origins, answers=[first, second, third])[0]


def answer_without_origin(forge: Forge) -> bytes:
    """The district administrator writes an answer no town approver signed."""
    return forge.package(answers=[answer()])[0]


def answer_changed_after_signing(forge: Forge) -> bytes:
    """The district passes an answer up with another note than the one the town signed."""
    origin = forge.answers_signed([answer("户籍已迁往历城区")])
    return forge.package(origins=[origin], answers=[answer("户籍已迁往外省")])[0]


def answer_signed_for_another_district(forge: Forge) -> bytes:
    """The origin names a node of another district, outside the sender's jurisdiction."""
    given = answer()
    origin = forge.answers_signed([given], node="370103001-01")
    return forge.package(origins=[origin], answers=[given])[0]


def answer_signed_with_an_uncertified_key(forge: Forge) -> bytes:
    """The origin claims the town's approver, signed with a key they hold no certificate
    for."""
    given = answer()
    origin = forge.answers_signed([given], key=seeded_key("mallory"))
    return forge.package(origins=[origin], answers=[given])[0]
