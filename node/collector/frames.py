"""Sans-I/O frame codec of the SAM serial protocol (docs/collector.md §2).

A frame on the wire, in both directions::

    AA AA AA 96 69 | LEN_H LEN_L | body | CHK

``LEN`` (big-endian) counts the body and the checksum; ``CHK`` is the XOR of the
length bytes and the body. A request's body is ``CMD PARA [DATA]``, a response's
``SW1 SW2 SW3 [DATA]``.

:class:`FrameDecoder` turns any chunking of received bytes into events: a
:class:`Frame` for each complete, checked frame and a :class:`BadFrame` for each
frame that fails a check. Bytes before a preamble are skipped (real modules send
line noise); after a bad frame the search resumes one byte past its preamble, so
a valid frame hidden behind a false preamble is not lost. The codec does no I/O
and keeps no clock; the driver and the simulator share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import xor

from crypto.errors import UsageError
from node.collector.errors import ChecksumError, FrameError

__all__ = [
    "HEADER_SIZE",
    "MAX_LENGTH",
    "MIN_LENGTH",
    "PREAMBLE",
    "BadFrame",
    "Event",
    "Frame",
    "FrameDecoder",
    "Request",
    "Response",
    "encode_frame",
    "xor_checksum",
]

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
#: Preamble plus the two length bytes.
HEADER_SIZE = 7
#: The smallest length field: CMD PARA CHK (a bare request).
MIN_LENGTH = 3
#: The largest length field: text, photo and a 1024-byte fingerprint (a 2321-byte frame).
MAX_LENGTH = 2314


def xor_checksum(data: bytes) -> int:
    """Return the XOR of all bytes of ``data`` (0 for no bytes)."""
    return reduce(xor, data, 0)


def encode_frame(body: bytes) -> bytes:
    """Wrap ``body`` in preamble, length and checksum.

    Raises:
        UsageError: the body is too short or too long for any frame.
    """
    length = len(body) + 1
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise UsageError(
            f"frame body of {len(body)} bytes: expected {MIN_LENGTH - 1} to {MAX_LENGTH - 1}"
        )
    head = length.to_bytes(2, "big")
    return PREAMBLE + head + body + bytes((xor_checksum(head + body),))


def _byte(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise UsageError(f"{name} {value}: expected a byte (0 to 255)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """A complete frame whose length and checksum were verified; ``body`` excludes both."""

    body: bytes

    def to_bytes(self) -> bytes:
        """Return the frame as sent on the wire."""
        return encode_frame(self.body)


@dataclass(frozen=True, slots=True, kw_only=True)
class BadFrame:
    """A frame that failed a check; ``raw`` holds the bytes it claimed, for diagnosis."""

    error: FrameError
    raw: bytes


Event = Frame | BadFrame


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """A host-to-module request: command, parameter and optional data."""

    cmd: int
    para: int
    data: bytes = b""

    def __post_init__(self) -> None:
        _byte("command", self.cmd)
        _byte("parameter", self.para)

    def to_bytes(self) -> bytes:
        """Return the request frame as sent on the wire."""
        return encode_frame(bytes((self.cmd, self.para)) + self.data)

    @classmethod
    def from_frame(cls, frame: Frame) -> Request:
        """Read a request from a checked frame.

        Raises:
            FrameError: the body is shorter than CMD and PARA.
        """
        if len(frame.body) < 2:
            raise FrameError(f"request body of {len(frame.body)} bytes: expected at least 2")
        return cls(cmd=frame.body[0], para=frame.body[1], data=frame.body[2:])


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """A module-to-host response: three status bytes and optional data."""

    sw3: int
    data: bytes = b""
    sw1: int = 0
    sw2: int = 0

    def __post_init__(self) -> None:
        _byte("SW1", self.sw1)
        _byte("SW2", self.sw2)
        _byte("SW3", self.sw3)

    def to_bytes(self) -> bytes:
        """Return the response frame as sent on the wire."""
        return encode_frame(bytes((self.sw1, self.sw2, self.sw3)) + self.data)

    @classmethod
    def from_frame(cls, frame: Frame) -> Response:
        """Read a response from a checked frame.

        Raises:
            FrameError: the body is shorter than the three status bytes.
        """
        body = frame.body
        if len(body) < 3:
            raise FrameError(f"response body of {len(body)} bytes: expected at least 3")
        return cls(sw1=body[0], sw2=body[1], sw3=body[2], data=body[3:])


def _preamble_prefix_at_end(buf: bytearray) -> int:
    """Return the length of the longest tail of ``buf`` that could start a preamble."""
    for size in range(min(len(buf), len(PREAMBLE) - 1), 0, -1):
        if buf.endswith(PREAMBLE[:size]):
            return size
    return 0


class FrameDecoder:
    """Incremental frame parser: ``feed(bytes)`` returns the events those bytes complete.

    Attributes:
        skipped: how many bytes were dropped while searching for a preamble.
    """

    def __init__(self, *, max_length: int = MAX_LENGTH) -> None:
        if not MIN_LENGTH <= max_length <= MAX_LENGTH:
            raise UsageError(f"max_length {max_length}: expected {MIN_LENGTH} to {MAX_LENGTH}")
        self._max_length = max_length
        self._buf = bytearray()
        self.skipped = 0

    @property
    def pending(self) -> int:
        """Bytes held back: a partial frame or a partial preamble."""
        return len(self._buf)

    def feed(self, data: bytes) -> tuple[Event, ...]:
        """Add received bytes; return the frames and bad frames they complete, in order."""
        self._buf += data
        return self._drain(final=False)

    def flush(self) -> tuple[Event, ...]:
        """Treat the input as ended: report a held partial frame as bad and rescan past it.

        A driver calls this when the line went quiet: a false preamble in line
        noise may claim a length that swallows the real answer behind it.
        """
        return self._drain(final=True)

    def reset(self) -> None:
        """Drop everything held back (before a new request, so stale bytes cannot answer it)."""
        self._buf.clear()

    def _drain(self, *, final: bool) -> tuple[Event, ...]:
        events: list[Event] = []
        buf = self._buf
        while True:
            start = buf.find(PREAMBLE)
            if start < 0:
                keep = 0 if final else _preamble_prefix_at_end(buf)
                self._skip(len(buf) - keep)
                return tuple(events)
            self._skip(start)
            bad = self._check_head(final=final)
            if bad is None:
                # Not enough bytes yet for the header or the body.
                return tuple(events)
            if isinstance(bad, BadFrame):
                events.append(bad)
                # Resume one byte in: the real frame may start inside the bad one.
                self._skip(1)
                continue
            events.append(bad)

    def _check_head(self, *, final: bool) -> Event | None:
        """Check the frame at the start of the buffer; consume it only when it is good."""
        buf = self._buf
        if len(buf) < HEADER_SIZE:
            if not final:
                return None
            return BadFrame(
                error=FrameError(
                    f"frame cut short: expected at least {HEADER_SIZE} bytes, saw {len(buf)}"
                ),
                raw=bytes(buf),
            )
        length = int.from_bytes(buf[5:7], "big")
        if not MIN_LENGTH <= length <= self._max_length:
            return BadFrame(
                error=FrameError(
                    f"frame length {length}: expected {MIN_LENGTH} to {self._max_length}",
                    length=length,
                ),
                raw=bytes(buf[:HEADER_SIZE]),
            )
        total = HEADER_SIZE + length
        if len(buf) < total:
            if not final:
                return None
            return BadFrame(
                error=FrameError(
                    f"frame cut short: expected {total} bytes, saw {len(buf)}", length=length
                ),
                raw=bytes(buf),
            )
        raw = bytes(buf[:total])
        expected = xor_checksum(raw[5:-1])
        if raw[-1] != expected:
            return BadFrame(
                error=ChecksumError(
                    f"frame checksum 0x{raw[-1]:02X}: expected 0x{expected:02X}", length=length
                ),
                raw=raw,
            )
        del buf[:total]
        return Frame(body=raw[HEADER_SIZE:-1])

    def _skip(self, count: int) -> None:
        if count:
            del self._buf[:count]
            self.skipped += count
