"""The frame codec: published request frames, round trips, resynchronisation, bad frames."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crypto.errors import UsageError
from node.collector._tables import command_rows
from node.collector.commands import Command
from node.collector.errors import ChecksumError, FrameError
from node.collector.frames import (
    MAX_LENGTH,
    PREAMBLE,
    BadFrame,
    Frame,
    FrameDecoder,
    Request,
    Response,
    encode_frame,
    xor_checksum,
)

#: The example request frames of idcard_sam_commands.csv, copied by hand.
PUBLISHED_REQUESTS = {
    Command.RESET_SAM: "AA AA AA 96 69 00 03 10 FF EC",
    Command.GET_SAM_STATUS: "AA AA AA 96 69 00 03 11 FF ED",
    Command.GET_SAM_ID: "AA AA AA 96 69 00 03 12 FF EE",
    Command.FIND_CARD: "AA AA AA 96 69 00 03 20 01 22",
    Command.SELECT_CARD: "AA AA AA 96 69 00 03 20 02 21",
    Command.READ_BASE: "AA AA AA 96 69 00 03 30 01 32",
    Command.READ_APPENDED_ADDRESS: "AA AA AA 96 69 00 03 30 03 30",
    Command.READ_BASE_WITH_FINGERPRINT: "AA AA AA 96 69 00 03 30 10 23",
    Command.SET_BAUD_RATE: "AA AA AA 96 69 00 03 60 00 63",
    Command.SET_MAX_RF_BYTES: "AA AA AA 96 69 00 04 61 FF 50 CA",
}
#: The data the CSV's example frames carry (only set_max_rf_bytes has any).
EXAMPLE_DATA = {Command.SET_MAX_RF_BYTES: b"\x50"}


def frames_of(events: tuple[Frame | BadFrame, ...]) -> list[Frame]:
    return [event for event in events if isinstance(event, Frame)]


@pytest.mark.parametrize("command", list(Command), ids=lambda c: c.value)
def test_every_published_request_frame_is_reproduced_byte_for_byte(command: Command) -> None:
    built = command.request(data=EXAMPLE_DATA.get(command, b"")).to_bytes()
    assert built == bytes.fromhex(PUBLISHED_REQUESTS[command])


def test_the_shipped_command_table_holds_the_same_example_frames() -> None:
    shipped = {row.name: row.request_frame for row in command_rows()}
    assert shipped == {c.value: bytes.fromhex(h) for c, h in PUBLISHED_REQUESTS.items()}


def test_checksum_is_the_xor_from_the_length_bytes_on() -> None:
    # The protocol summary's worked example: 00 ^ 03 ^ 20 ^ 01 = 22.
    assert xor_checksum(bytes.fromhex("00032001")) == 0x22


def test_a_full_read_reply_has_the_published_header_and_size() -> None:
    data = bytes.fromhex("01000400") + bytes(256 + 1024)
    wire = Response(sw3=0x90, data=data).to_bytes()
    assert len(wire) == 1295
    assert wire[:14] == bytes.fromhex("AAAAAA9669 0508 000090 0100 0400")


requests = st.builds(
    Request,
    cmd=st.integers(0, 255),
    para=st.integers(0, 255),
    data=st.binary(max_size=40),
)
responses = st.builds(
    Response,
    sw3=st.integers(0, 255),
    data=st.binary(max_size=MAX_LENGTH - 4),
    sw1=st.integers(0, 255),
    sw2=st.integers(0, 255),
)


@given(requests)
def test_requests_round_trip(request: Request) -> None:
    (frame,) = FrameDecoder().feed(request.to_bytes())
    assert isinstance(frame, Frame)
    assert Request.from_frame(frame) == request


@given(responses)
def test_responses_round_trip(response: Response) -> None:
    (frame,) = FrameDecoder().feed(response.to_bytes())
    assert isinstance(frame, Frame)
    assert Response.from_frame(frame) == response


@given(st.lists(responses, min_size=1, max_size=4), st.data())
def test_any_chunking_yields_the_same_frames(batch: list[Response], data: st.DataObject) -> None:
    wire = b"".join(response.to_bytes() for response in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=12)))
    decoder = FrameDecoder()
    events: list[Frame | BadFrame] = []
    for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        events.extend(decoder.feed(wire[start:end]))
    assert [Response.from_frame(f) for f in frames_of(tuple(events))] == batch
    assert decoder.pending == 0


@given(st.lists(st.tuples(st.binary(max_size=60), responses), min_size=1, max_size=5))
def test_garbage_between_valid_frames_yields_exactly_the_valid_frames(
    pieces: list[tuple[bytes, Response]],
) -> None:
    for garbage, _ in pieces:
        assume(PREAMBLE not in garbage)
    wire = b"".join(garbage + response.to_bytes() for garbage, response in pieces)
    events = FrameDecoder().feed(wire)
    assert all(isinstance(event, Frame) for event in events)
    assert [Response.from_frame(f) for f in frames_of(events)] == [r for _, r in pieces]


@given(st.binary(max_size=600), st.binary(max_size=600))
def test_decoding_any_bytes_never_raises_and_never_invents_a_frame(
    head: bytes, tail: bytes
) -> None:
    wire = head + PREAMBLE + tail
    decoder = FrameDecoder()
    events = decoder.feed(wire) + decoder.flush()
    for frame in frames_of(events):
        assert frame.to_bytes() in wire
    assert decoder.pending == 0


def test_a_bad_checksum_is_reported_and_the_next_frame_survives() -> None:
    good = Response(sw3=0x90).to_bytes()
    corrupt = good[:-1] + bytes((good[-1] ^ 0xFF,))
    bad, frame = FrameDecoder().feed(corrupt + good)
    assert isinstance(bad, BadFrame)
    assert isinstance(bad.error, ChecksumError)
    assert bad.error.message == "frame checksum 0x6B: expected 0x94"
    assert bad.raw == corrupt
    assert frame == Frame(body=b"\x00\x00\x90")


def test_a_length_beyond_the_largest_frame_is_a_frame_error() -> None:
    (bad,) = FrameDecoder().feed(PREAMBLE + (MAX_LENGTH + 1).to_bytes(2, "big"))
    assert isinstance(bad, BadFrame)
    assert type(bad.error) is FrameError
    assert bad.error.message == "frame length 2315: expected 3 to 2314"


def test_a_length_below_a_bare_command_is_a_frame_error() -> None:
    (bad,) = FrameDecoder().feed(PREAMBLE + b"\x00\x02\x00\x02")
    assert isinstance(bad, BadFrame)
    assert bad.error.message == "frame length 2: expected 3 to 2314"


def test_a_false_preamble_in_noise_does_not_hide_the_real_frame() -> None:
    # Noise claims a 16-byte frame; the real 15-byte reply follows and the line goes quiet.
    real = Response(sw3=0x9F, data=bytes(4)).to_bytes()
    decoder = FrameDecoder()
    assert decoder.feed(PREAMBLE + b"\x00\x10" + real) == ()
    bad, frame = decoder.flush()
    assert isinstance(bad, BadFrame)
    assert bad.error.message == "frame cut short: expected 23 bytes, saw 22"
    assert frame == Frame(body=real[7:-1])


def test_a_truncated_frame_is_held_until_flushed() -> None:
    wire = Response(sw3=0x90, data=b"abc").to_bytes()
    decoder = FrameDecoder()
    assert decoder.feed(wire[:9]) == ()
    assert decoder.pending == 9
    (bad,) = decoder.flush()
    assert isinstance(bad, BadFrame)
    assert bad.error.message == "frame cut short: expected 14 bytes, saw 9"
    assert decoder.pending == 0


def test_a_partial_preamble_at_the_end_is_kept_and_noise_is_counted() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x01\x02\x03\xaa\xaa") == ()
    assert (decoder.pending, decoder.skipped) == (2, 3)
    (frame,) = decoder.feed(Response(sw3=0x90).to_bytes()[2:])
    assert frame == Frame(body=b"\x00\x00\x90")


def test_reset_drops_held_bytes() -> None:
    decoder = FrameDecoder()
    decoder.feed(Response(sw3=0x90).to_bytes()[:6])
    decoder.reset()
    assert decoder.pending == 0
    assert decoder.feed(Response(sw3=0x90).to_bytes()[6:]) == ()


def test_a_response_body_shorter_than_the_status_bytes_is_a_frame_error() -> None:
    with pytest.raises(FrameError, match=r"^response body of 2 bytes: expected at least 3$"):
        Response.from_frame(Frame(body=b"\x11\xff"))


def test_a_request_body_shorter_than_command_and_parameter_is_a_frame_error() -> None:
    with pytest.raises(FrameError, match=r"^request body of 1 bytes: expected at least 2$"):
        Request.from_frame(Frame(body=b"\x11"))


def test_encoding_an_oversized_body_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^frame body of 2314 bytes: expected 2 to 2313$"):
        encode_frame(bytes(MAX_LENGTH))


def test_a_request_byte_out_of_range_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^command 256: expected a byte"):
        Request(cmd=256, para=0)
