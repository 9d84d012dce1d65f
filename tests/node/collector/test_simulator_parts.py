"""The simulator's pure parts: the module model, the fault script, reply shaping, cards."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from crypto.errors import UsageError
from node.collector.card_text import CardText
from node.collector.commands import Command
from node.collector.errors import CardDataError
from node.collector.faults import Fault, FaultKind, FaultScript, noise, shape_reply
from node.collector.frames import PREAMBLE, Frame, FrameDecoder, Response
from node.collector.simcards import SimCard, generate_cards, load_cards
from node.collector.simmodel import ModuleModel, Rearm
from node.collector.textblock import CardType
from protocol.idnumber import parse_id_number
from tests.node.collector.conftest import TODAY


def ask(model: ModuleModel, command: Command, **kwargs: bytes | int) -> Response:
    return model.handle(command.request(**kwargs))  # type: ignore[arg-type]


@pytest.fixture
def card() -> SimCard:
    return generate_cards(1, seed=3, today=TODAY)[0]


def test_the_model_answers_a_full_read_cycle(card: SimCard) -> None:
    model = ModuleModel()
    assert ask(model, Command.FIND_CARD).sw3 == 0x80
    model.place(card)
    assert ask(model, Command.FIND_CARD) == Response(sw3=0x9F, data=bytes(4))
    assert ask(model, Command.SELECT_CARD) == Response(sw3=0x90, data=bytes(8))
    read = ask(model, Command.READ_BASE)
    assert read.data[:4] == bytes.fromhex("01000400")
    assert CardText.from_block(read.data[4:260]) == card.text
    assert read.data[260:] == card.photo


def test_after_a_read_the_usual_module_reports_no_card_until_it_is_lifted(card: SimCard) -> None:
    model = ModuleModel(rearm=Rearm.ABSENT_UNTIL_LIFTED)
    model.place(card)
    for command in (Command.FIND_CARD, Command.SELECT_CARD, Command.READ_BASE):
        ask(model, command)
    assert ask(model, Command.FIND_CARD).sw3 == 0x80
    model.lift()
    model.place(card)
    assert ask(model, Command.FIND_CARD).sw3 == 0x9F


def test_the_other_kind_of_module_keeps_finding_a_card_that_stays(card: SimCard) -> None:
    model = ModuleModel(rearm=Rearm.FOUND_WHILE_PRESENT)
    model.place(card)
    for command in (Command.FIND_CARD, Command.SELECT_CARD, Command.READ_BASE):
        ask(model, command)
    assert ask(model, Command.FIND_CARD).sw3 == 0x9F


def test_selecting_or_reading_out_of_order_fails(card: SimCard) -> None:
    model = ModuleModel()
    model.place(card)
    assert ask(model, Command.SELECT_CARD).sw3 == 0x81
    assert ask(model, Command.READ_BASE).sw3 == 0x41


def test_set_baud_rate_switches_the_modules_speed() -> None:
    model = ModuleModel()
    assert ask(model, Command.SET_BAUD_RATE, para=2).sw3 == 0x90
    assert model.baudrate == 38400
    assert ask(model, Command.SET_BAUD_RATE, para=7).sw3 == 0x21


def test_a_failed_self_test_answers_0x60() -> None:
    assert ask(ModuleModel(self_test_ok=False), Command.GET_SAM_STATUS).sw3 == 0x60


def test_fault_specs_parse_from_the_command_line_form() -> None:
    assert Fault.parse("bad_checksum:read_base:2") == Fault(
        kind=FaultKind.BAD_CHECKSUM, command=Command.READ_BASE, times=2
    )
    assert Fault.parse("silence:any:always") == Fault(kind=FaultKind.SILENCE, times=None)
    assert Fault.parse("status:get_sam_status:1:sw3=0x60") == Fault(
        kind=FaultKind.STATUS, command=Command.GET_SAM_STATUS, sw3=0x60
    )
    assert Fault.parse("unplug:find_card:1:seconds=2:skip=3").seconds == 2.0


@pytest.mark.parametrize(
    "spec", ["melt", "silence:warp_drive", "silence:any:0", "silence:any:1:colour=red"]
)
def test_a_bad_fault_spec_is_a_usage_error(spec: str) -> None:
    with pytest.raises(UsageError):
        Fault.parse(spec)


def test_the_script_skips_then_spoils_then_runs_out() -> None:
    script = FaultScript((Fault(kind=FaultKind.SILENCE, command=Command.FIND_CARD, skip=1),))
    assert script.take(Command.GET_SAM_STATUS) is None
    assert script.take(Command.FIND_CARD) is None
    assert script.take(Command.FIND_CARD) is not None
    assert script.take(Command.FIND_CARD) is None


def test_lift_after_select_waits_for_a_select() -> None:
    script = FaultScript((Fault(kind=FaultKind.LIFT_AFTER_SELECT),))
    assert script.take(Command.FIND_CARD) is None
    assert script.take(Command.SELECT_CARD) is not None


def decode_pieces(pieces: tuple[tuple[float, bytes], ...]) -> tuple[Frame, ...]:
    decoder = FrameDecoder()
    events = tuple(event for _, chunk in pieces for event in decoder.feed(chunk))
    return tuple(event for event in events + decoder.flush() if isinstance(event, Frame))


WIRE = Response(sw3=0x90, data=bytes(range(200))).to_bytes()


@pytest.mark.parametrize("kind", [FaultKind.STRAY_BYTES, FaultKind.SPLIT, FaultKind.DELAY])
def test_harmless_shapes_still_carry_the_reply(kind: FaultKind) -> None:
    pieces = shape_reply(WIRE, Fault(kind=kind, seconds=0.5), random.Random(1))
    assert decode_pieces(pieces) == (Frame(body=WIRE[7:-1]),)


def test_split_sends_many_pieces() -> None:
    assert len(shape_reply(WIRE, Fault(kind=FaultKind.SPLIT), random.Random(1))) > 5


@pytest.mark.parametrize(
    "kind",
    [
        FaultKind.BAD_CHECKSUM,
        FaultKind.BAD_LENGTH,
        FaultKind.TRUNCATE,
        FaultKind.GARBAGE,
        FaultKind.SILENCE,
    ],
)
def test_spoiling_shapes_leave_no_frame(kind: FaultKind) -> None:
    assert decode_pieces(shape_reply(WIRE, Fault(kind=kind), random.Random(1))) == ()


def test_noise_never_holds_a_preamble_byte() -> None:
    assert 0xAA not in noise(random.Random(5), 5000)
    assert PREAMBLE not in noise(random.Random(5), 5000)


@pytest.mark.parametrize("card_type", list(CardType))
def test_generated_cards_have_valid_consistent_numbers(card_type: CardType) -> None:
    for card in generate_cards(20, seed=11, today=TODAY, card_types=(card_type,)):
        assert card.text.card_type is card_type
        assert card.text.valid_from <= TODAY
        if card_type is not CardType.FOREIGN_PERMANENT_RESIDENT:
            number = parse_id_number(card.text.id_number)
            assert (number.birth_date, number.sex_code) == (
                card.text.birth_date,
                card.text.sex_code,
            )


def test_generation_is_repeatable_and_expired_cards_are_expired() -> None:
    first = generate_cards(5, seed=2, today=TODAY)
    assert [c.to_json_dict() for c in first] == [
        c.to_json_dict() for c in generate_cards(5, seed=2, today=TODAY)
    ]
    for card in generate_cards(5, seed=2, today=TODAY, expired=True):
        assert isinstance(card.text.valid_to, type(TODAY))
        assert card.text.valid_to < TODAY


def test_cards_round_trip_through_a_json_file(tmp_path: Path) -> None:
    cards = generate_cards(3, seed=4, today=TODAY, card_types=tuple(CardType))
    path = tmp_path / "cards.json"
    path.write_text(json.dumps([c.to_json_dict() for c in cards], ensure_ascii=False), "utf-8")
    loaded = load_cards(path)
    assert [c.text for c in loaded] == [c.text for c in cards]
    assert [c.photo for c in loaded] == [c.photo for c in cards]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"^cards file: expected readable JSON \(JSONDecodeError\)$"),
        ('{"name": "x"}', r"^cards file: expected a JSON list of objects$"),
        ('[{"name": "x"}]', r"^simulated card: expected the keys and types"),
    ],
)
def test_a_bad_cards_file_is_card_data_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "cards.json"
    path.write_text(content, "utf-8")
    with pytest.raises(CardDataError, match=message):
        load_cards(path)
