"""The reading cycle: find → select → read text and photo → appended address.

:class:`Reader` is the driver the node uses. It opens the port lazily, finds
the module's speed (the configured one first, then 115200, 57600, 38400, 19200,
9600 by "SAM status"), reads the module's id, and then reads each card once
per placement: after a read, a card that stays on the antenna is not read
again until "find card" has reported the antenna empty. When the device is
unplugged the port is closed, and :meth:`Reader.wait_for_card` keeps reopening
it until the device is back or the caller's deadline passes.

The reader is synchronous; an asyncio caller runs it in a thread
(``await asyncio.to_thread(reader.wait_for_card, 30)``). Logs carry the event
and the SAM id, never anything read from a card.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date
from types import TracebackType

from node.collector.card import PHOTO_SIZE, CardRead, SamId, check_card
from node.collector.card_text import CardText
from node.collector.commands import Command, baud_rate_index
from node.collector.config import CollectorConfig
from node.collector.errors import (
    CardDataError,
    DeviceGoneError,
    DeviceTimeoutError,
    FrameError,
    StatusCategory,
    StatusError,
)
from node.collector.frames import Response
from node.collector.link import Link
from node.collector.photo import decode_photo, load_photo_decoder
from node.collector.textblock import TEXT_BLOCK_SIZE
from node.collector.transport import SerialTransport, Transport

__all__ = ["Reader", "split_base_read"]

_log = logging.getLogger("muster.collector")
_SW_NO_CARD = 0x80
_SW_NO_ITEM = 0x91


def split_base_read(data: bytes) -> tuple[bytes, bytes]:
    """Split ``read_base`` reply data into the text block and the photo.

    Raises:
        CardDataError: the length words do not announce 256 text and 1024 photo bytes.
    """
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if (text_len, photo_len) != (TEXT_BLOCK_SIZE, PHOTO_SIZE) or len(data) != 4 + text_len + (
        photo_len
    ):
        raise CardDataError(
            f"read reply announces {text_len} text and {photo_len} photo bytes in "
            f"{len(data)}: expected {TEXT_BLOCK_SIZE} and {PHOTO_SIZE} in "
            f"{4 + TEXT_BLOCK_SIZE + PHOTO_SIZE}"
        )
    return data[4 : 4 + text_len], data[4 + text_len :]


def _decode_address(data: bytes) -> str | None:
    try:
        text = data.decode("utf-16-le").rstrip(" \0")
    except UnicodeDecodeError as exc:
        raise CardDataError(
            "appended address: expected UCS-2 text, got an invalid code unit"
        ) from exc
    return text or None


class Reader:
    """The ID-card reader driver: one module on one port.

    Args:
        config: port, speed, timeouts, poll interval and photo decoder.
        transport: the byte pipe; a :class:`SerialTransport` on ``config.port_url``
            by default.
        today: the date expiry is checked against.
        sleep: waits between polls (tests may pass a recorder).
        monotonic: the clock deadlines are measured on.
    """

    def __init__(
        self,
        config: CollectorConfig,
        *,
        transport: Transport | None = None,
        today: Callable[[], date] = date.today,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._transport = transport or SerialTransport(config.port_url)
        self._link = Link(
            self._transport,
            timeouts=config.timeouts,
            retries=config.retries,
            monotonic=monotonic,
        )
        self._photo_decoder = load_photo_decoder(config.photo_decoder)
        self._today = today
        self._sleep = sleep
        self._monotonic = monotonic
        self._sam_id: SamId | None = None
        self._baudrate: int | None = None
        # A card was read (or its data did not decode) and has not been seen
        # leaving the antenna since: do not read it again.
        self._placement_done = False

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def sam_id(self) -> SamId | None:
        """The module's id, once the reader is open."""
        return self._sam_id

    @property
    def baudrate(self) -> int | None:
        """The speed the module answered at, once the reader is open."""
        return self._baudrate

    def open(self) -> SamId:
        """Open the port, find the module's speed and read its id.

        Raises:
            DeviceGoneError: the port cannot be opened.
            DeviceTimeoutError: the module answers at none of the speeds tried.
            StatusError: the module answers but reports a fault (0x60: self-test failed).
        """
        self.close()
        self._transport.open(self._config.baudrate)
        try:
            self._baudrate = self._find_speed()
            reply = self._link.exchange(Command.GET_SAM_ID)
            self._sam_id = SamId.from_bytes(reply.data)
        except BaseException:
            self.close()
            raise
        _log.info("reader ready (sam %s, %d baud)", self._sam_id, self._baudrate)
        return self._sam_id

    def close(self) -> None:
        """Close the port; the next poll reopens it."""
        self._transport.close()
        self._sam_id = None
        self._baudrate = None

    def _find_speed(self) -> int:
        tried: list[int] = []
        for rate in self._config.baud_order:
            tried.append(rate)
            self._transport.set_baudrate(rate)
            try:
                self._link.exchange(Command.GET_SAM_STATUS, retries=0)
            except DeviceTimeoutError:
                continue  # silence or noise: the module talks at another speed
            except (FrameError, StatusError) as exc:
                if isinstance(exc, StatusError) and exc.category is not (
                    StatusCategory.TRANSPORT_ERROR
                ):
                    raise
                # Something frame-shaped came back, which noise at a wrong speed
                # almost never is: try this speed again before moving on.
                try:
                    self._link.exchange(Command.GET_SAM_STATUS)
                except (DeviceTimeoutError, FrameError):
                    continue
            return rate
        raise DeviceTimeoutError(
            f"no answer to SAM status at {', '.join(map(str, tried))} baud: expected status 0x90",
            bauds=tuple(tried),
        )

    def change_baudrate(self, baudrate: int) -> None:
        """Switch the module (and then the port) to ``baudrate``.

        The module answers at the old speed, then listens at the new one.

        Raises:
            UsageError: the module does not support ``baudrate``.
            CollectorError: the module refused or did not answer.
        """
        index = baud_rate_index(baudrate)
        self._ensure_open()
        self._link.exchange(Command.SET_BAUD_RATE, para=index)
        self._transport.set_baudrate(baudrate)
        self._baudrate = baudrate
        _log.info("reader speed changed (sam %s, %d baud)", self._sam_id, baudrate)

    def _ensure_open(self) -> SamId:
        if self._sam_id is None or not self._transport.is_open:
            return self.open()
        return self._sam_id

    def poll(self) -> CardRead | None:
        """Run one find → select → read cycle; return a newly placed card, or None.

        Raises:
            StatusError: the card or the module failed (``category`` says which);
                after a card fault the next poll tries the card again.
            CardDataError: the card was read but its text does not decode.
            FrameError: the line stayed garbled after every retry.
            DeviceTimeoutError: the module fell silent.
            DeviceGoneError: the port cannot be opened or vanished; the next poll
                tries to reopen it.
        """
        try:
            sam_id = self._ensure_open()
            return self._cycle(sam_id)
        except DeviceGoneError:
            _log.warning("reader gone (port closed)")
            self.close()
            raise

    def _cycle(self, sam_id: SamId) -> CardRead | None:
        found = self._link.exchange(Command.FIND_CARD)
        if found.sw3 == _SW_NO_CARD:
            if self._placement_done:
                _log.info("card left the reader (sam %s)", sam_id)
            self._placement_done = False
            return None
        if self._placement_done:
            return None
        try:
            card = self._read_card(sam_id)
        except CardDataError as exc:
            # The same bytes would come again: wait until the card is lifted and placed again.
            self._placement_done = True
            _log.warning("card data not decodable (sam %s): %s", sam_id, exc.code)
            raise
        except StatusError as exc:
            # A card fault (lifted mid-read, RF trouble) is retried by the next poll if
            # the module still finds the card; a module fault needs the operator.
            _log.warning("card read failed (sam %s): %s 0x%02X", sam_id, exc.code, exc.sw3)
            raise
        self._placement_done = True
        _log.info("card read (sam %s)", sam_id)
        return card

    def _read_card(self, sam_id: SamId) -> CardRead:
        self._link.exchange(Command.SELECT_CARD)
        base = self._link.exchange(Command.READ_BASE)
        text_block, photo = split_base_read(base.data)
        text = CardText.from_block(text_block)
        appended = self._read_appended_address()
        return CardRead(
            text=text,
            photo=decode_photo(photo, self._photo_decoder),
            sam_id=sam_id,
            checks=check_card(text, today=self._today()),
            raw_text=text_block,
            appended_address=appended,
        )

    def _read_appended_address(self) -> str | None:
        reply: Response = self._link.exchange(Command.READ_APPENDED_ADDRESS)
        if reply.sw3 == _SW_NO_ITEM:
            return None
        return _decode_address(reply.data)

    def wait_for_card(self, timeout: float) -> CardRead:
        """Poll until a newly placed card is read, riding out unplugging.

        Raises:
            StatusError: no new card within ``timeout`` (category ``card_absent``),
                or a card or module fault as in :meth:`poll`.
            DeviceGoneError: the device was gone and did not come back in time.
            CollectorError: any other fault of :meth:`poll`.
        """
        deadline = self._monotonic() + timeout
        while True:
            gone: DeviceGoneError | None = None
            try:
                card = self.poll()
            except DeviceGoneError as exc:
                gone = exc
            else:
                if card is not None:
                    return card
            if self._monotonic() + self._config.poll_interval > deadline:
                if gone is not None:
                    raise gone
                raise StatusError(
                    f"no new card on the reader within {timeout:.1f} s: "
                    "expected find_card status 0x9F for a newly placed card",
                    sw3=_SW_NO_CARD,
                    category=StatusCategory.CARD_ABSENT,
                )
            self._sleep(self._config.poll_interval)
