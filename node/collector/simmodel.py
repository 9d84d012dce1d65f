"""The simulated security module: one request in, one response out, no I/O.

It answers like the modules the protocol summary describes: "find card" says
0x9F while a card is on the antenna, selection and reading must follow in
order, and after a read the card either answers 0x80 until it is lifted
(:attr:`Rearm.ABSENT_UNTIL_LIFTED`, the common behaviour) or keeps answering
0x9F (:attr:`Rearm.FOUND_WHILE_PRESENT`), so the driver's one-read-per-placement
logic is tested against both. It changes speed on 0x60 after answering, as a
real module does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from node.collector.card import SamId
from node.collector.commands import BAUD_RATES, Command
from node.collector.frames import Request, Response
from node.collector.simcards import APPENDED_ADDRESS_CHARS, SimCard

__all__ = ["DEFAULT_SAM_ID", "ModuleModel", "Rearm"]

DEFAULT_SAM_ID = SamId(parts=(5, 1, 20240101, 1234567, 987654321))

_OK, _FOUND = 0x90, 0x9F
_NO_ITEM, _BAD_COMMAND = 0x91, 0x21
_READ_FAILED, _SELF_TEST_FAILED = 0x41, 0x60
_NO_CARD, _SELECT_FAILED = 0x80, 0x81
_MIN_RF, _MAX_RF = 24, 255


class Rearm(enum.StrEnum):
    """What "find card" answers after a card was read and stays on the antenna."""

    ABSENT_UNTIL_LIFTED = "absent_until_lifted"
    FOUND_WHILE_PRESENT = "found_while_present"


class ModuleModel:
    """State of one simulated module: its speed, the card on its antenna, the read steps."""

    def __init__(
        self,
        *,
        sam_id: SamId = DEFAULT_SAM_ID,
        baudrate: int = BAUD_RATES[0],
        rearm: Rearm = Rearm.ABSENT_UNTIL_LIFTED,
        self_test_ok: bool = True,
    ) -> None:
        self.sam_id = sam_id
        self.baudrate = baudrate
        self.rearm = rearm
        self.self_test_ok = self_test_ok
        self.card: SimCard | None = None
        self._found = False
        self._selected = False
        self._read = False
        self._handlers: dict[Command, Callable[[Request], Response]] = {
            Command.RESET_SAM: self._reset,
            Command.GET_SAM_STATUS: self._status,
            Command.GET_SAM_ID: lambda _: Response(sw3=_OK, data=self.sam_id.to_bytes()),
            Command.FIND_CARD: self._find,
            Command.SELECT_CARD: self._select,
            Command.READ_BASE: lambda _: self._read_base(fingerprint=False),
            Command.READ_BASE_WITH_FINGERPRINT: lambda _: self._read_base(fingerprint=True),
            Command.READ_APPENDED_ADDRESS: self._appended,
            Command.SET_BAUD_RATE: self._set_baud,
            Command.SET_MAX_RF_BYTES: self._set_rf,
        }

    def place(self, card: SimCard) -> None:
        """Put a card on the antenna (replacing any card there)."""
        self.card = card
        self._found = self._selected = self._read = False

    def lift(self) -> None:
        """Take the card off the antenna."""
        self.card = None
        self._found = self._selected = self._read = False

    def handle(self, request: Request) -> Response:
        """Answer one request."""
        command = Command.identify(request)
        if command is None:
            return Response(sw3=_BAD_COMMAND)
        return self._handlers[command](request)

    def _reset(self, _: Request) -> Response:
        self._found = self._selected = False
        return Response(sw3=_OK)

    def _status(self, _: Request) -> Response:
        return Response(sw3=_OK if self.self_test_ok else _SELF_TEST_FAILED)

    def _find(self, _: Request) -> Response:
        if self.card is None or (self._read and self.rearm is Rearm.ABSENT_UNTIL_LIFTED):
            return Response(sw3=_NO_CARD)
        self._found, self._selected = True, False
        return Response(sw3=_FOUND, data=bytes(4))

    def _select(self, _: Request) -> Response:
        if self.card is None or not self._found:
            return Response(sw3=_SELECT_FAILED)
        self._selected = True
        return Response(sw3=_OK, data=bytes(8))

    def _read_base(self, *, fingerprint: bool) -> Response:
        if self.card is None or not self._selected:
            return Response(sw3=_READ_FAILED)
        self._read = True
        text, photo = self.card.text.to_block(), self.card.photo
        lengths = len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big")
        if fingerprint:
            lengths += bytes(2)  # no fingerprint on simulated cards
        return Response(sw3=_OK, data=lengths + text + photo)

    def _appended(self, _: Request) -> Response:
        if self.card is None or not self._selected:
            return Response(sw3=_READ_FAILED)
        address = self.card.appended_address
        if address is None:
            return Response(sw3=_NO_ITEM)
        return Response(sw3=_OK, data=address.ljust(APPENDED_ADDRESS_CHARS).encode("utf-16-le"))

    def _set_baud(self, request: Request) -> Response:
        if request.para >= len(BAUD_RATES):
            return Response(sw3=_BAD_COMMAND)
        self.baudrate = BAUD_RATES[request.para]
        return Response(sw3=_OK)

    def _set_rf(self, request: Request) -> Response:
        if len(request.data) != 1 or not _MIN_RF <= request.data[0] <= _MAX_RF:
            return Response(sw3=_BAD_COMMAND)
        return Response(sw3=_OK)
