"""One request, one response: framing, per-command deadlines and retries.

The module only ever answers, so an exchange is: drop stale input, send the
request, feed what arrives to a :class:`~node.collector.frames.FrameDecoder`
until a checked frame comes or the command's deadline passes, then check the
status. Line faults (a bad frame, a bad checksum, silence, a transport status
such as "the module saw a checksum error") are retried ``retries`` times;
card and module faults are not, because resending cannot fix them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from node.collector.commands import Command
from node.collector.config import Timeouts
from node.collector.errors import (
    CollectorError,
    DeviceTimeoutError,
    FrameError,
    StatusCategory,
    StatusError,
)
from node.collector.frames import BadFrame, Frame, FrameDecoder, Response
from node.collector.status import check_response
from node.collector.transport import Transport

__all__ = ["BAD_FRAME_GRACE", "Link", "is_line_fault"]

_log = logging.getLogger("muster.collector")

#: After a bad frame, how long to wait for a good one before giving up the attempt:
#: a corrupted reply is usually all there is, but line noise may precede the real one.
BAD_FRAME_GRACE = 0.05


def is_line_fault(error: CollectorError) -> bool:
    """True for faults of the line, which a resend may cure."""
    if isinstance(error, FrameError | DeviceTimeoutError):
        return True
    return isinstance(error, StatusError) and error.category is StatusCategory.TRANSPORT_ERROR


class Link:
    """Request/response exchanges with the module over a :class:`Transport`."""

    def __init__(
        self,
        transport: Transport,
        *,
        timeouts: Timeouts,
        retries: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._timeouts = timeouts
        self._retries = retries
        self._monotonic = monotonic
        self._decoder = FrameDecoder()

    def exchange(
        self,
        command: Command,
        *,
        para: int | None = None,
        data: bytes = b"",
        retries: int | None = None,
    ) -> Response:
        """Send ``command`` and return its checked reply.

        Returns the reply for success and for the outcomes the status table lists
        for this command (0x80 "no card" for ``find_card``, 0x91 "no appended
        address"); the caller tells them apart by ``sw3``.

        Raises:
            FrameError: the reply stayed malformed after every retry.
            ChecksumError: the reply's checksum stayed wrong after every retry.
            DeviceTimeoutError: no complete reply within the command's timeout.
            StatusError: a card or module fault, or a transport status after every retry.
            DeviceGoneError: the port vanished.
        """
        attempts = 1 + (self._retries if retries is None else retries)
        for attempt in range(1, attempts + 1):
            try:
                response = self._once(command, para=para, data=data)
                check_response(command, response)
            except CollectorError as exc:
                if not is_line_fault(exc) or attempt == attempts:
                    raise
                _log.debug("%s: %s; resending (%d/%d)", command.value, exc.code, attempt, attempts)
            else:
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, command: Command, *, para: int | None, data: bytes) -> Response:
        timeout = self._timeouts.for_command(command)
        # A late reply to an earlier, timed-out request must not answer this one.
        self._decoder.reset()
        self._transport.discard_input()
        self._transport.write(command.request(para=para, data=data).to_bytes())
        deadline = self._monotonic() + timeout
        bad: BadFrame | None = None
        while True:
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                frame, bad = _first_frame(self._decoder.flush(), bad)
                if frame is not None:
                    return Response.from_frame(frame)
                if bad is not None:
                    raise bad.error
                raise DeviceTimeoutError(
                    f"{command.value}: no complete reply within {timeout:.2f} s",
                    command=command.value,
                    pending_bytes=self._decoder.pending,
                )
            frame, bad = _first_frame(self._decoder.feed(self._transport.read(remaining)), bad)
            if frame is not None:
                return Response.from_frame(frame)
            if bad is not None:
                deadline = min(deadline, self._monotonic() + BAD_FRAME_GRACE)


def _first_frame(
    events: tuple[Frame | BadFrame, ...], bad: BadFrame | None
) -> tuple[Frame | None, BadFrame | None]:
    """Return the first good frame among ``events``, and the first bad one seen so far."""
    for event in events:
        if isinstance(event, Frame):
            return event, bad
        bad = bad or event
    return None, bad
