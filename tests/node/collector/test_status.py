"""Commands and status bytes: the enum agrees with the tables; replies map to outcomes."""

from __future__ import annotations

import pytest

from crypto.errors import UsageError
from node.collector._tables import command_rows, status_rows
from node.collector.commands import BAUD_RATES, Command, baud_rate_index
from node.collector.errors import FrameError, StatusCategory, StatusError
from node.collector.frames import Request, Response
from node.collector.status import check_response, status_info


def test_the_command_enum_and_the_shipped_table_name_the_same_commands() -> None:
    assert {c.value for c in Command} == {row.name for row in command_rows()}


def test_every_status_category_in_the_table_is_an_enum_member() -> None:
    assert {row.category for row in status_rows()} <= {c.value for c in StatusCategory}


def test_timeouts_come_from_the_table_hints() -> None:
    assert Command.FIND_CARD.timeout_s == 0.5
    assert Command.READ_BASE.timeout_s == 3.5


@pytest.mark.parametrize("command", list(Command), ids=lambda c: c.value)
def test_identify_finds_each_command_from_its_request(command: Command) -> None:
    assert Command.identify(command.request()) is command


def test_identify_knows_set_baud_rate_by_its_command_byte_alone() -> None:
    assert Command.identify(Request(cmd=0x60, para=0x03)) is Command.SET_BAUD_RATE


def test_identify_returns_none_for_an_unknown_command() -> None:
    assert Command.identify(Request(cmd=0x99, para=0x01)) is None


def test_baud_rate_index_follows_the_probe_order() -> None:
    assert BAUD_RATES == (115200, 57600, 38400, 19200, 9600)
    assert baud_rate_index(19200) == 3


def test_an_unsupported_baud_rate_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^baud rate 4800: expected one of"):
        baud_rate_index(4800)


@pytest.mark.parametrize(
    ("sw3", "category"),
    [
        (0x80, StatusCategory.CARD_ABSENT),
        (0x41, StatusCategory.CARD_ERROR),
        (0x60, StatusCategory.MODULE_ERROR),
        (0x10, StatusCategory.TRANSPORT_ERROR),
        (0x91, StatusCategory.INFO),
    ],
)
def test_status_bytes_map_to_their_category(sw3: int, category: StatusCategory) -> None:
    assert status_info(sw3).category is category


def test_an_unknown_status_byte_is_a_module_error() -> None:
    info = status_info(0x77)
    assert (info.category, info.meaning_en) == (StatusCategory.MODULE_ERROR, "Unknown status")


def test_find_card_success_is_0x9f_with_four_data_bytes() -> None:
    assert check_response(Command.FIND_CARD, Response(sw3=0x9F, data=bytes(4))).sw3 == 0x9F


def test_no_card_is_an_outcome_of_find_card_not_an_error() -> None:
    assert check_response(Command.FIND_CARD, Response(sw3=0x80)).category is (
        StatusCategory.CARD_ABSENT
    )


def test_no_appended_address_is_an_outcome_not_an_error() -> None:
    info = check_response(Command.READ_APPENDED_ADDRESS, Response(sw3=0x91))
    assert info.category is StatusCategory.INFO


def test_a_card_fault_raises_a_status_error_with_its_category() -> None:
    with pytest.raises(StatusError) as caught:
        check_response(Command.READ_BASE, Response(sw3=0x41))
    assert caught.value.message == (
        "read_base answered status 0x41 (Card read failed): expected 0x90"
    )
    assert (caught.value.sw3, caught.value.category) == (0x41, StatusCategory.CARD_ERROR)
    assert caught.value.diagnostics() == "lift the card and place it on the reader again"


def test_a_module_fault_raises_a_module_error() -> None:
    with pytest.raises(StatusError) as caught:
        check_response(Command.GET_SAM_STATUS, Response(sw3=0x60))
    assert caught.value.category is StatusCategory.MODULE_ERROR


def test_another_commands_outcome_is_a_transport_fault() -> None:
    with pytest.raises(StatusError) as caught:
        check_response(Command.SELECT_CARD, Response(sw3=0x91))
    assert caught.value.category is StatusCategory.TRANSPORT_ERROR


def test_a_success_reply_of_the_wrong_size_is_a_frame_error() -> None:
    with pytest.raises(FrameError, match=r"^find_card reply carries 8 data bytes: expected 4$"):
        check_response(Command.FIND_CARD, Response(sw3=0x9F, data=bytes(8)))
