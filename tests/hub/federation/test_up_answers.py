"""Answers to cross-check problems passed up the tree carry where they were signed: a
hub takes an answer from a child hub only with the town approver's authorisation over
it, and refuses a package whose answer lacks one, changing nothing (one test per named
asset, tests/hub/federation/assets.py)."""

from __future__ import annotations

import msgpack
import sqlalchemy as sa

from hub.context import HubContext
from hub.store.crosscheck_models import AnswerOriginRow, AnswerRow
from hub.store.models import BundleRow, RecordRow
from protocol.entries import AnswerOrigin, decode_entry
from tests.hub.federation import assets
from tests.hub.federation.assets import Forge
from tests.hub.federation.uptree import UpTree
from tests.hub.helpers import bundle_row, count, drain, submit


def _answers(hub: HubContext) -> list[tuple[str, str, str]]:
    """Each answer kept: its finding, outcome and the node whose approver signed it."""
    with hub.store.read() as session:
        rows = session.execute(
            sa.select(AnswerRow.finding_id, AnswerRow.outcome, AnswerOriginRow.entry)
            .join(AnswerOriginRow, AnswerOriginRow.id == AnswerRow.origin_id)
            .order_by(AnswerRow.id)
        ).all()
    kept = []
    for finding, outcome, entry in rows:
        origin = decode_entry(msgpack.unpackb(entry, raw=False))
        assert isinstance(origin, AnswerOrigin)
        kept.append((finding, outcome, origin.auth.origin))
    return kept


def _refused(hub: HubContext, data: bytes) -> BundleRow:
    before = (count(hub, AnswerRow), count(hub, AnswerOriginRow), count(hub, RecordRow))
    result = submit(hub, data)
    assert result.status == "accepted"  # what is wrong is inside: found when staged
    drain(hub)
    row = bundle_row(hub, result.row_id)
    assert row.state == "rejected"
    assert (count(hub, AnswerRow), count(hub, AnswerOriginRow), count(hub, RecordRow)) == before
    return row


def test_answers_with_their_origins_are_kept_and_pass_up_again(tree: UpTree) -> None:
    city, province = tree["city"], tree["province"]
    result = submit(city, assets.answers_honest(Forge(tree)))
    drain(city)
    assert bundle_row(city, result.row_id).state == "merged"
    town = "370102001-01"
    relayed = [("ab" * 16, "relay", town), ("cd" * 16, "relay", town), ("ef" * 16, "relay", town)]
    assert _answers(city) == relayed  # findings made above: for the province
    assert count(city, AnswerOriginRow) == 2  # one per town batch
    tree.up("city")
    # The province checked the town approver's signature on each (the city's package
    # carried the origins and the approver's certificate); it made none of these
    # findings, so it keeps them as ignored.
    assert _answers(province) == [(f, "ignored", node) for f, _outcome, node in relayed]


def test_an_answer_no_town_approver_signed_is_refused(tree: UpTree) -> None:
    row = _refused(tree["city"], assets.answer_without_origin(Forge(tree)))
    assert row.reason_code == "not_authorised"
    assert row.reason == (
        f"the answer to finding {'ab' * 16} carries no authorisation from the node where it "
        "was given"
    )


def test_an_answer_changed_after_the_town_signed_it_is_refused(tree: UpTree) -> None:
    row = _refused(tree["city"], assets.answer_changed_after_signing(Forge(tree)))
    assert row.reason_code == "not_authorised"
    assert (row.reason or "").startswith(f"the answer to finding {'ab' * 16} carries no")


def test_an_answer_signed_for_a_node_outside_the_sender_is_refused(tree: UpTree) -> None:
    row = _refused(tree["city"], assets.answer_signed_for_another_district(Forge(tree)))
    assert row.reason_code == "name_constraint"
    assert row.reason == (
        "package from 370102: answers signed for 370103001-01, not a node inside the "
        "sender's jurisdiction"
    )


def test_an_answer_signed_with_a_key_the_approver_holds_no_certificate_for_is_refused(
    tree: UpTree,
) -> None:
    row = _refused(tree["city"], assets.answer_signed_with_an_uncertified_key(Forge(tree)))
    assert row.reason_code == "not_authorised"
    assert "370102001/li.na holds no approver certificate for this key" in (row.reason or "")
