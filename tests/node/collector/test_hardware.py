"""A real reader, when one is attached: set MUSTER_READER_PORT to its port to run these.

``MUSTER_READER_CARD=1`` also waits (up to 30 s) for a real card to be placed.
"""

from __future__ import annotations

import os
import re

import pytest

from node.collector.config import CollectorConfig
from node.collector.reader import Reader

PORT = os.environ.get("MUSTER_READER_PORT", "")

pytestmark = [
    pytest.mark.hardware,
    pytest.mark.skipif(not PORT, reason="set MUSTER_READER_PORT to a real reader's port"),
]


def test_a_real_reader_answers_and_names_its_module() -> None:
    with Reader(CollectorConfig(port_url=PORT)) as reader:
        sam_id = reader.open()
    assert re.fullmatch(r"\d{2,}\.\d{2,}-\d{8,}-\d{10}-\d{10}", str(sam_id))


@pytest.mark.skipif(os.environ.get("MUSTER_READER_CARD") != "1", reason="no card to place")
def test_a_real_card_reads_and_its_number_checks_out() -> None:
    with Reader(CollectorConfig(port_url=PORT)) as reader:
        card = reader.wait_for_card(30)
    assert card.checks.id_checksum in (True, None)
    assert card.checks.birth_date_matches in (True, None)
    assert len(card.photo.wlt) == 1024
