"""Reading an ID card into a form, from the collector simulator over a real pty."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest

from node.collector.card import CardRead
from node.collector.config import CollectorConfig
from node.collector.reader import Reader
from node.collector.simcards import generate_cards
from node.collector.simulator import Simulator
from node.errors import FormError
from node.services import NodeServices
from tests.node.core.helpers import COLLECTOR, NodeUnderTest, form_for

TODAY = date(2026, 11, 29)


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(cards=generate_cards(1, seed=3, today=TODAY)) as running:
        running.place(0)
        yield running


def _reading(node: NodeUnderTest, simulator: Simulator) -> NodeServices:
    def read(timeout: float) -> CardRead:
        with Reader(CollectorConfig(port_url=simulator.path), today=lambda: TODAY) as reader:
            return reader.wait_for_card(timeout)

    return NodeServices(replace(node.services.context, card_source=read))


def test_a_card_fills_the_identity_fields_of_a_new_form(
    node: NodeUnderTest, simulator: Simulator
) -> None:
    services = _reading(node, simulator)
    result = services.read_card_into(None, timeout=8)
    card = simulator.cards[0]
    assert result.existing_record_id is None
    assert result.checks_passed
    assert result.fields["id_number"] == card.text.id_number
    assert result.fields["name"] == card.text.name
    assert result.photo_blob_id is not None
    assert result.fields["id_card_photo"] == result.photo_blob_id
    media_type, data = services.get_blob(result.photo_blob_id)
    assert (media_type, len(data)) == ("application/x-wlt", 1024)


def test_a_card_of_a_person_already_here_opens_their_record_and_overwrites_nothing(
    node: NodeUnderTest, simulator: Simulator
) -> None:
    services = _reading(node, simulator)
    first = services.read_card_into(None, timeout=8)
    categories, values = form_for(services)
    values.update({k: v for k, v in first.fields.items() if k != "hukou_address"})
    values["name"] = "另一个名字"  # the record says otherwise than the card
    saved = services.save_record(None, categories, values, COLLECTOR[0])
    assert saved.saved, saved.problems
    simulator.lift()  # the module reports a card once per placement
    simulator.place(0)
    again = services.read_card_into(None, timeout=8)
    assert again.existing_record_id == saved.record_id
    assert [(d.field, d.old, d.new) for d in again.differences if d.field == "name"] == [
        ("name", "另一个名字", first.fields["name"])
    ]
    assert services.get_record(saved.record_id or "").values["name"] == "另一个名字"


def test_without_a_reader_the_form_says_so(node: NodeUnderTest) -> None:
    with pytest.raises(FormError, match="no ID-card reader is configured"):
        node.services.read_card_into(None, timeout=1)
