"""The driver against the simulator over a real pty: every read right, every fault typed.

Each test bounds its waits (``wait_for_card`` timeouts and per-command reply
timeouts), so a regression shows up as a failure, never as a hang.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import pytest

from node.collector.commands import Command
from node.collector.config import Timeouts
from node.collector.errors import (
    CardDataError,
    ChecksumError,
    DeviceGoneError,
    DeviceTimeoutError,
    FrameError,
    StatusCategory,
    StatusError,
)
from node.collector.faults import Fault, FaultKind
from node.collector.frames import Request, Response
from node.collector.reader import Reader
from node.collector.simcards import SimCard, generate_cards
from node.collector.simmodel import DEFAULT_SAM_ID, ModuleModel, Rearm
from node.collector.simulator import Simulator
from node.collector.textblock import CardType
from tests.node.collector.conftest import TODAY, WAIT

StartSimulator = Callable[..., Simulator]
OpenReader = Callable[..., Reader]

#: Short reply timeouts for the commands a fault silences, so retries come quickly.
QUICK = Timeouts(
    overrides=(
        (Command.FIND_CARD, 0.5),
        (Command.SELECT_CARD, 0.5),
        (Command.READ_BASE, 1.5),
        (Command.GET_SAM_STATUS, 0.5),
    )
)


def reads(simulator: Simulator, command: Command) -> int:
    return simulator.requests.count(command)


def assert_same_card(read_text: object, placed: SimCard) -> None:
    assert read_text == placed.text


@pytest.mark.parametrize("index", [0, 1, 2], ids=[t.value for t in CardType])
def test_each_card_type_is_read_exactly_as_placed(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...], index: int
) -> None:
    simulator = start_simulator(cards=cards)
    simulator.place(index)
    card = open_reader(simulator).wait_for_card(WAIT)
    placed = cards[index]
    assert card.card_type is placed.text.card_type
    assert card.text == placed.text
    assert card.photo.wlt == placed.photo
    assert card.photo.image is None
    assert card.raw_text == placed.text.to_block()
    assert card.sam_id == DEFAULT_SAM_ID
    assert card.checks.passed


def test_the_appended_address_is_read_when_the_card_holds_one(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    moved = replace(cards[0], appended_address="山东省青岛市市南区中山路9号")
    simulator = start_simulator(cards=(moved,))
    simulator.place(0)
    card = open_reader(simulator).wait_for_card(WAIT)
    assert card.appended_address == "山东省青岛市市南区中山路9号"
    assert card.to_record_fields()["hukou_address"] == "山东省青岛市市南区中山路9号"


def test_an_expired_card_is_read_and_flagged(
    start_simulator: StartSimulator, open_reader: OpenReader
) -> None:
    (expired,) = generate_cards(1, seed=5, today=TODAY, expired=True)
    simulator = start_simulator(cards=(expired,))
    simulator.place(0)
    card = open_reader(simulator).wait_for_card(WAIT)
    assert card.checks.expired
    assert card.checks.failures == ("expired",)


@pytest.mark.parametrize("rearm", list(Rearm))
def test_a_card_left_on_the_reader_is_read_once_per_placement(
    start_simulator: StartSimulator,
    open_reader: OpenReader,
    cards: tuple[SimCard, ...],
    rearm: Rearm,
) -> None:
    simulator = start_simulator(cards=cards, model=ModuleModel(rearm=rearm))
    reader = open_reader(simulator)
    simulator.place(0)
    assert reader.wait_for_card(WAIT).text == cards[0].text
    assert [reader.poll() for _ in range(3)] == [None, None, None]
    assert reads(simulator, Command.READ_BASE) == 1
    simulator.lift()
    assert reader.poll() is None
    simulator.place(1)
    assert reader.wait_for_card(WAIT).text == cards[1].text
    assert reads(simulator, Command.READ_BASE) == 2


def test_no_card_within_the_timeout_is_a_card_absent_status(
    start_simulator: StartSimulator, open_reader: OpenReader
) -> None:
    simulator = start_simulator()
    with pytest.raises(StatusError) as caught:
        open_reader(simulator, poll_interval=0.05).wait_for_card(0.3)
    assert caught.value.category is StatusCategory.CARD_ABSENT
    assert caught.value.message == (
        "no new card on the reader within 0.3 s: "
        "expected find_card status 0x9F for a newly placed card"
    )


def test_one_bad_checksum_is_retried_and_the_card_read_right(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    fault = Fault(kind=FaultKind.BAD_CHECKSUM, command=Command.READ_BASE)
    simulator = start_simulator(cards=cards, faults=(fault,))
    simulator.place(0)
    assert open_reader(simulator).wait_for_card(WAIT).text == cards[0].text
    assert reads(simulator, Command.READ_BASE) == 2


def test_a_checksum_that_stays_bad_is_a_checksum_error(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    fault = Fault(kind=FaultKind.BAD_CHECKSUM, command=Command.READ_BASE, times=None)
    simulator = start_simulator(cards=cards, faults=(fault,))
    simulator.place(0)
    with pytest.raises(ChecksumError, match=r"^frame checksum 0x[0-9A-F]{2}: expected 0x"):
        open_reader(simulator, retries=2).wait_for_card(WAIT)
    assert reads(simulator, Command.READ_BASE) == 3


@pytest.mark.parametrize("kind", [FaultKind.STRAY_BYTES, FaultKind.SPLIT])
def test_noise_and_split_replies_read_right_without_a_retry(
    start_simulator: StartSimulator,
    open_reader: OpenReader,
    cards: tuple[SimCard, ...],
    kind: FaultKind,
) -> None:
    simulator = start_simulator(cards=cards, faults=(Fault(kind=kind, times=None),))
    simulator.place(1)
    assert open_reader(simulator).wait_for_card(WAIT).text == cards[1].text
    assert reads(simulator, Command.READ_BASE) == 1


@pytest.mark.parametrize(
    ("kind", "command"),
    [
        (FaultKind.TRUNCATE, Command.READ_BASE),
        (FaultKind.SILENCE, Command.FIND_CARD),
        (FaultKind.GARBAGE, Command.SELECT_CARD),
        (FaultKind.BAD_LENGTH, Command.READ_BASE),
        (FaultKind.DELAY, Command.SELECT_CARD),
    ],
)
def test_one_spoiled_reply_is_retried_and_the_card_read_right(
    start_simulator: StartSimulator,
    open_reader: OpenReader,
    cards: tuple[SimCard, ...],
    kind: FaultKind,
    command: Command,
) -> None:
    # A delay longer than the timeout also makes the late reply race the resend's.
    fault = Fault(kind=kind, command=command, seconds=0.8)
    simulator = start_simulator(cards=cards, faults=(fault,))
    simulator.place(2)
    assert open_reader(simulator, timeouts=QUICK).wait_for_card(WAIT).text == cards[2].text
    assert reads(simulator, command) == 2


def test_a_module_that_stays_silent_is_a_timeout(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    fault = Fault(kind=FaultKind.SILENCE, command=Command.FIND_CARD, times=None)
    simulator = start_simulator(cards=cards, faults=(fault,))
    simulator.place(0)
    with pytest.raises(DeviceTimeoutError) as caught:
        open_reader(simulator, timeouts=QUICK).wait_for_card(WAIT)
    assert caught.value.message == "find_card: no complete reply within 0.50 s"


def test_replies_that_stay_truncated_are_a_frame_error(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    fault = Fault(kind=FaultKind.TRUNCATE, command=Command.READ_BASE, times=None)
    simulator = start_simulator(cards=cards, faults=(fault,))
    simulator.place(0)
    with pytest.raises(FrameError, match=r"^frame cut short: expected 1295 bytes, saw 647$"):
        open_reader(simulator, timeouts=QUICK).wait_for_card(WAIT)


def test_a_module_that_reports_a_line_checksum_error_gets_the_command_again(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    fault = Fault(kind=FaultKind.STATUS, command=Command.READ_BASE, sw3=0x10)
    simulator = start_simulator(cards=cards, faults=(fault,))
    simulator.place(0)
    assert open_reader(simulator).wait_for_card(WAIT).text == cards[0].text
    assert reads(simulator, Command.READ_BASE) == 2


def test_a_failed_selection_is_a_card_error_and_not_resent(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    fault = Fault(kind=FaultKind.STATUS, command=Command.SELECT_CARD, sw3=0x81)
    simulator = start_simulator(cards=cards, faults=(fault,))
    simulator.place(0)
    with pytest.raises(StatusError) as caught:
        open_reader(simulator).wait_for_card(WAIT)
    assert caught.value.category is StatusCategory.CARD_ERROR
    assert reads(simulator, Command.SELECT_CARD) == 1


def test_a_card_lifted_between_select_and_read_fails_then_reads_when_placed_again(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    simulator = start_simulator(cards=cards, faults=(Fault(kind=FaultKind.LIFT_AFTER_SELECT),))
    reader = open_reader(simulator)
    simulator.place(0)
    with pytest.raises(StatusError) as caught:
        reader.wait_for_card(WAIT)
    assert caught.value.category is StatusCategory.CARD_ERROR
    assert (
        caught.value.message == "read_base answered status 0x41 (Card read failed): expected 0x90"
    )
    simulator.place(0)
    assert reader.wait_for_card(WAIT).text == cards[0].text


def test_a_module_that_failed_its_self_test_is_a_module_error(
    start_simulator: StartSimulator, open_reader: OpenReader
) -> None:
    simulator = start_simulator(model=ModuleModel(self_test_ok=False))
    with pytest.raises(StatusError) as caught:
        open_reader(simulator).wait_for_card(WAIT)
    assert caught.value.category is StatusCategory.MODULE_ERROR
    assert caught.value.sw3 == 0x60


def test_the_reader_finds_a_module_running_at_another_speed(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    simulator = start_simulator(cards=cards, model=ModuleModel(baudrate=38400))
    simulator.place(0)
    reader = open_reader(simulator, timeouts=QUICK)
    assert reader.wait_for_card(WAIT).text == cards[0].text
    assert reader.baudrate == 38400
    # 115200 and 57600 heard garbage, 38400 the answer.
    assert reads(simulator, Command.GET_SAM_STATUS) == 3


def test_a_wrong_speed_without_probing_is_a_timeout(
    start_simulator: StartSimulator, open_reader: OpenReader
) -> None:
    simulator = start_simulator(model=ModuleModel(baudrate=9600))
    reader = open_reader(simulator, timeouts=QUICK, probe_baud=False)
    with pytest.raises(DeviceTimeoutError) as caught:
        reader.open()
    assert caught.value.message == "no answer to SAM status at 115200 baud: expected status 0x90"


def test_the_module_can_be_switched_to_another_speed(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    simulator = start_simulator(cards=cards)
    reader = open_reader(simulator)
    reader.open()
    reader.change_baudrate(57600)
    assert (simulator.model.baudrate, reader.baudrate) == (57600, 57600)
    simulator.place(1)
    assert reader.wait_for_card(WAIT).text == cards[1].text


def test_an_unplugged_reader_that_comes_back_at_its_stable_path_reads_on(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    fault = Fault(kind=FaultKind.UNPLUG, command=Command.FIND_CARD, seconds=0.4, skip=1)
    simulator = start_simulator(cards=cards, faults=(fault,))
    reader = open_reader(simulator)
    reader.open()
    first_pts = simulator.pts_path
    assert reader.poll() is None
    simulator.place(0)
    card = reader.wait_for_card(WAIT)
    assert card.text == cards[0].text
    assert simulator.pts_path != first_pts
    assert reads(simulator, Command.GET_SAM_ID) == 2


def test_an_unplugged_reader_that_stays_away_is_device_gone(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    simulator = start_simulator(cards=cards, faults=(Fault(kind=FaultKind.UNPLUG),))
    simulator.place(0)
    with pytest.raises(DeviceGoneError) as caught:
        open_reader(simulator, poll_interval=0.1).wait_for_card(1.0)
    assert caught.value.message.startswith("cannot open the reader's port ")


def test_a_reader_that_comes_back_at_a_new_path_is_device_gone_on_the_old_one(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    fault = Fault(kind=FaultKind.UNPLUG, command=Command.SELECT_CARD, seconds=0.1)
    simulator = start_simulator(cards=cards, faults=(fault,), link=False)
    first_path = simulator.path
    simulator.place(0)
    with pytest.raises(DeviceGoneError):
        open_reader(simulator, poll_interval=0.1).wait_for_card(1.0)
    assert simulator.pts_path not in (None, first_path)


class UnreadableTextModel(ModuleModel):
    """A module whose card's text block carries an unknown type marker."""

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if Command.identify(request) is Command.READ_BASE and response.sw3 == 0x90:
            data = bytearray(response.data)
            data[4 + 248 : 4 + 250] = "Z".encode("utf-16-le")
            return Response(sw3=0x90, data=bytes(data))
        return response


def test_an_undecodable_card_is_reported_once_per_placement(
    start_simulator: StartSimulator, open_reader: OpenReader, cards: tuple[SimCard, ...]
) -> None:
    model = UnreadableTextModel(rearm=Rearm.FOUND_WHILE_PRESENT)
    simulator = start_simulator(cards=cards, model=model)
    reader = open_reader(simulator)
    simulator.place(0)
    with pytest.raises(CardDataError, match=r"^card type marker U\+005A at byte 248"):
        reader.wait_for_card(WAIT)
    assert reader.poll() is None
    assert reads(simulator, Command.READ_BASE) == 1


def test_logs_carry_events_and_the_sam_id_but_nothing_from_the_card(
    start_simulator: StartSimulator,
    open_reader: OpenReader,
    cards: tuple[SimCard, ...],
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator = start_simulator(cards=cards, faults=(Fault(kind=FaultKind.BAD_CHECKSUM),))
    simulator.place(0)
    with caplog.at_level(logging.DEBUG, logger="muster.collector"):
        card = open_reader(simulator).wait_for_card(WAIT)
    logged = "\n".join(caplog.messages)
    assert f"card read (sam {DEFAULT_SAM_ID})" in caplog.messages
    for secret in (card.text.name, card.text.id_number, card.text.address or "-", "1953"):
        assert secret not in logged
