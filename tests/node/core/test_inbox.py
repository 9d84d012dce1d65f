"""Down bundles from the parent: applied once, whatever happens; bad ones change nothing."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import select

from node.errors import ForeignBundleError
from node.services import RecordFlag
from node.services.inbox import accept_down
from node.store import transaction
from node.store.models import (
    AuditRow,
    BlobRow,
    InboxRow,
    OpRow,
    OpState,
    ProblemRow,
    RecordFlagRow,
    RecordRow,
    StreamRow,
)
from protocol.bundle import BundleKind
from protocol.entries import Decision, DecisionStatus, Problem, encode_entry
from protocol.errors import (
    BadSignatureError,
    EntryError,
    HeaderSyntaxError,
    PayloadDecryptError,
    StreamError,
    TrustError,
)
from protocol.trust import RevocationReason, Revoked, issue_revocation_list
from protocol.trust.enrollment import EnrollmentAnswer
from tests.node.core.helpers import (
    COLLECTOR,
    NodeUnderTest,
    approver_answer,
    copy_node,
    down_bundle,
    hub_create,
    hub_set,
    node_party,
    png_bytes,
)
from tests.pki import NOW, seal

TABLES = (RecordRow, OpRow, InboxRow, ProblemRow, RecordFlagRow, StreamRow, BlobRow)


def snapshot(node: NodeUnderTest) -> dict[str, object]:
    """Everything a down bundle could change (the audit log is checked on its own)."""
    with transaction(node.services.context.engine) as session:
        return {
            model.__tablename__: sorted(
                tuple(sorted((k, str(v)) for k, v in vars(row).items() if not k.startswith("_")))
                for row in session.execute(select(model)).scalars()
            )
            for model in TABLES
        }


def _id(n: int) -> str:
    return f"{n:032x}"


def apply(node: NodeUnderTest, data: bytes, source: str = "http") -> str:
    return accept_down(node.services.context, data, source=source).outcome


def assert_refused(node: NodeUnderTest, data: bytes, error: type[Exception], match: str) -> None:
    """Applying ``data`` raises ``error`` (message matching ``match``) and changes nothing."""
    before = snapshot(node)
    with pytest.raises(error, match=match):
        apply(node, data)
    assert snapshot(node) == before


def test_a_baseline_creates_records_to_verify(node: NodeUnderTest) -> None:
    ops = [hub_create(node, seed) for seed in (1, 2)]
    data, _ = down_bundle(node, ops, kind=BundleKind.BASELINE, seq=1, prev=None, bundle_id=_id(1))
    result = accept_down(node.services.context, data, source="usb")
    assert (result.outcome, result.kind, result.counts) == ("applied", "baseline", (("op", 2),))
    services = node.services
    view = services.get_record(ops[0].record_id)
    assert RecordFlag.TO_VERIFY in view.flags
    assert view.history[0].state is OpState.RECEIVED
    assert view.history[0].author == "370102/wang.fang"
    assert services.status().records_to_verify == 2
    services.confirm_baseline(ops[0].record_id, author=COLLECTOR[0])
    assert RecordFlag.TO_VERIFY not in services.get_record(ops[0].record_id).flags
    # Correcting the other one confirms it too, and the correction goes up as a draft.
    other = services.get_record(ops[1].record_id)
    photo = services.store_blob(png_bytes(5), "image/png").blob_id
    signature = services.store_blob(png_bytes(6), "image/png").blob_id
    completed = {"phone": "13812345678", "portrait_photo": photo, "subject_signature": signature}
    incomplete = services.save_record(
        other.record_id, other.categories, {"phone": "1"}, COLLECTOR[0], versions=other.versions
    )
    assert {p.field for p in incomplete.problems} >= {"portrait_photo", "subject_signature"}
    fixed = services.save_record(
        other.record_id, other.categories, completed, COLLECTOR[0], versions=other.versions
    )
    assert fixed.saved
    assert services.status().records_to_verify == 0
    assert [p.record_id for p in services.pending_changes()] == [other.record_id]


def test_a_bundle_applied_twice_is_a_duplicate_and_changes_nothing(node: NodeUnderTest) -> None:
    data, _ = down_bundle(
        node, [hub_create(node, 1)], kind=BundleKind.BASELINE, seq=1, prev=None, bundle_id=_id(1)
    )
    assert apply(node, data) == "applied"
    before = snapshot(node)
    assert apply(node, data, "usb") == "duplicate"
    assert snapshot(node) == before


def test_a_bundle_beyond_a_gap_is_parked_until_the_gap_fills(node: NodeUnderTest) -> None:
    first, first_hash = down_bundle(
        node, [hub_create(node, 1)], kind=BundleKind.BASELINE, seq=1, prev=None, bundle_id=_id(1)
    )
    second, _ = down_bundle(
        node,
        [hub_create(node, 2)],
        kind=BundleKind.BASELINE,
        seq=2,
        prev=first_hash,
        bundle_id=_id(2),
    )
    assert apply(node, second, "usb") == "parked"
    assert node.services.search("") == []
    assert apply(node, first) == "applied"
    assert len(node.services.search("")) == 2
    with transaction(node.services.context.engine) as session:
        states = session.execute(select(InboxRow.seq, InboxRow.state, InboxRow.data)).all()
    assert sorted((seq, state, data) for seq, state, data in states) == [
        (1, "applied", None),
        (2, "applied", None),
    ]
    assert apply(node, second) == "duplicate"


def test_a_different_bundle_reusing_a_sequence_number_is_refused(node: NodeUnderTest) -> None:
    data, _ = down_bundle(
        node, [hub_create(node, 1)], kind=BundleKind.BASELINE, seq=1, prev=None, bundle_id=_id(1)
    )
    apply(node, data)
    other, _ = down_bundle(
        node, [hub_create(node, 2)], kind=BundleKind.BASELINE, seq=1, prev=None, bundle_id=_id(2)
    )
    before = snapshot(node)
    with pytest.raises(StreamError, match="seq 1 is already used by another bundle"):
        apply(node, other)
    assert snapshot(node) == before


def test_a_tampered_bundle_is_refused_and_changes_nothing(node: NodeUnderTest) -> None:
    data, _ = down_bundle(
        node, [hub_create(node, 1)], kind=BundleKind.BASELINE, seq=1, prev=None, bundle_id=_id(1)
    )
    tampered = bytearray(data)
    tampered[-100] ^= 0x01
    before = snapshot(node)
    with pytest.raises(BadSignatureError, match="signature does not verify"):
        apply(node, bytes(tampered))
    assert snapshot(node) == before
    with pytest.raises(HeaderSyntaxError, match="truncated"):
        apply(node, data[:300])
    assert snapshot(node) == before


def test_a_bundle_from_another_hub_is_refused(node: NodeUnderTest) -> None:
    data, _ = down_bundle(node, [hub_create(node, 1)], sender="other_district")
    assert_refused(node, data, BadSignatureError, "which this receiver does not know")


def test_a_bundle_from_a_known_hub_that_is_not_the_parent_is_refused(
    node: NodeUnderTest,
) -> None:
    data, _ = down_bundle(node, [hub_create(node, 1)], sender="city")
    assert_refused(node, data, ForeignBundleError, "not from this node's parent 370102")


def test_a_bundle_for_another_node_is_refused(node: NodeUnderTest) -> None:
    pki = node.pki
    data, _ = seal(
        [], sender=pki["district"], to=pki["node"], kind=BundleKind.PROBLEMS, created=NOW
    )
    assert_refused(node, data, PayloadDecryptError, "cannot be decrypted")


def test_a_node_takes_no_delta_bundles_from_its_parent(node: NodeUnderTest) -> None:
    data, _ = down_bundle(node, [], kind=BundleKind.PACKAGE, seq=1, prev=None, bundle_id=_id(1))
    with pytest.raises(ForeignBundleError, match="a package bundle, which a node does not take"):
        apply(node, data)


def test_a_bundle_with_a_malformed_entry_changes_nothing(node: NodeUnderTest) -> None:
    pki = node.pki
    good = hub_create(node, 1)
    entries = [encode_entry(good), ["op", ["not", "an", "op"]]]
    data, _ = seal(
        entries,
        sender=pki["district"],
        to=node_party(node),
        kind=BundleKind.BASELINE,
        created=node.clock(),
    )
    before = snapshot(node)
    with pytest.raises(EntryError, match="entry 1"):
        apply(node, data)
    assert snapshot(node) == before


def test_decisions_become_problems_and_resolutions_apply(node: NodeUnderTest) -> None:
    services = node.services
    create = hub_create(node, 1)
    baseline, first_hash = down_bundle(
        node, [create], kind=BundleKind.BASELINE, seq=1, prev=None, bundle_id=_id(1)
    )
    apply(node, baseline)
    fix = hub_set(node, create.record_id, "phone", "13700000000", (create.op_id,))
    rejection = Decision(
        bundle_id=_id(9),
        status=DecisionStatus.REJECTED,
        reason="照片与本人不符",
        by="370102/wang.fang",
        decided_at=NOW,
        record_ids=(create.record_id,),
    )
    data, _ = down_bundle(
        node, [rejection, fix], kind=BundleKind.DECISIONS, seq=2, prev=first_hash, bundle_id=_id(2)
    )
    apply(node, data)
    assert services.get_record(create.record_id).values["phone"] == "13700000000"
    [problem] = services.problems()
    assert (problem.source, problem.kind, problem.record_id) == (
        "decision",
        "rejected",
        create.record_id,
    )
    assert "照片与本人不符" in problem.message_zh
    answered = services.answer_problem(problem.problem_id, "已重新拍照", author=COLLECTOR[0])
    assert answered.state == "answered"


def test_problems_from_the_cross_check_are_a_to_do_list(node: NodeUnderTest) -> None:
    create = hub_create(node, 1)
    finding = Problem(
        body={
            "id": "p-1",
            "kind": "deceased_in_register",
            "record_id": create.record_id,
            "field": "living_status",
            "message_zh": "户籍登记为已故",
            "message_en": "Deceased in the register",
        }
    )
    data, _ = down_bundle(
        node, [create, finding], kind=BundleKind.PROBLEMS, seq=1, prev=None, bundle_id=_id(1)
    )
    apply(node, data)
    [item] = node.services.problems()
    assert (item.problem_id, item.kind, item.field) == (
        "p-1",
        "deceased_in_register",
        "living_status",
    )
    assert node.services.status().open_problems == 1


def test_a_trust_bundle_installs_revocations_and_approver_certificates(
    node: NodeUnderTest,
) -> None:
    services = node.services
    services.create_account("wang.li", "王丽", "approver", "approver-pass-2")
    cert = EnrollmentAnswer.from_bytes(approver_answer(node, "wang.li")).certificate
    district = node.pki["district"]
    crl = issue_revocation_list(
        issuer_key=district.keys.signing,
        issuer=district.subject,
        number=1,
        issued_at=NOW,
        entries=[Revoked(serial="0" * 32, revoked_at=NOW, reason=RevocationReason.CESSATION)],
    )
    data, _ = down_bundle(
        node, [cert, crl], kind=BundleKind.TRUST, seq=1, prev=None, bundle_id=_id(1)
    )
    apply(node, data)
    assert services.account("wang.li").certified  # type: ignore[union-attr]


def test_a_revocation_list_with_a_bad_signature_refuses_the_whole_bundle(
    node: NodeUnderTest,
) -> None:
    city = node.pki["city"]
    forged = issue_revocation_list(
        issuer_key=city.keys.signing, issuer="370102", number=1, issued_at=NOW, entries=[]
    )
    data, _ = down_bundle(
        node,
        [hub_create(node, 1), forged],
        kind=BundleKind.TRUST,
        seq=1,
        prev=None,
        bundle_id=_id(1),
    )
    before = snapshot(node)
    with pytest.raises(TrustError):
        apply(node, data)
    assert snapshot(node) == before


def test_every_application_is_audited_and_the_chain_verifies(node: NodeUnderTest) -> None:
    data, _ = down_bundle(
        node, [hub_create(node, 1)], kind=BundleKind.BASELINE, seq=1, prev=None, bundle_id=_id(1)
    )
    apply(node, data)
    with transaction(node.services.context.engine) as session:
        actions = list(session.execute(select(AuditRow.action).order_by(AuditRow.seq)).scalars())
    assert actions[-1] == "bundle.applied"
    assert node.services.verify_audit() == len(actions)


def test_any_delivery_order_gives_the_same_records_each_bundle_applied_once(
    tmp_path: Path, templates: dict[str, NodeUnderTest], node: NodeUnderTest
) -> None:
    """Three bundles (a baseline, a correction of it, a second baseline), delivered in
    every order, some twice: the same record rows at the end, three bundles applied."""
    create = hub_create(node, 1)
    fix = hub_set(node, create.record_id, "phone", "13700000000", (create.op_id,))
    bundles: list[bytes] = []
    prev = None
    for seq, entries in enumerate([[create], [fix], [hub_create(node, 2)]], start=1):
        data, prev = down_bundle(
            node, entries, kind=BundleKind.BASELINE, seq=seq, prev=prev, bundle_id=_id(seq)
        )
        bundles.append(data)
    results = []
    for number, order in enumerate(itertools.permutations(range(3))):
        copy = copy_node(templates["ready"], tmp_path / f"order{number}", node.clock)
        for index in (*order, order[0]):
            apply(copy, bundles[index])
        with transaction(copy.services.context.engine) as session:
            rows = {r.record_id: (r.values, r.versions) for r in session.scalars(select(RecordRow))}
            applied = (
                session.execute(
                    select(InboxRow.seq).where(InboxRow.state == "applied").order_by(InboxRow.seq)
                )
                .scalars()
                .all()
            )
        copy.services.close()
        assert applied == [1, 2, 3]
        results.append(rows)
    assert all(rows == results[0] for rows in results)
    assert {values["phone"] for values, _ in results[0].values()} >= {"13700000000"}
