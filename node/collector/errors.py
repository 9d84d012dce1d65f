"""Errors of the ID-card reader driver (see the whole tree in :mod:`crypto.errors`).

A reader is a device outside our control, so what it sends is bad input from
outside: every reader error derives from :class:`CollectorError`, an
:class:`~crypto.errors.InputError`. A configuration that cannot work is the
caller's fault and sits under :class:`~crypto.errors.UsageError`::

    MusterError
    ├── InputError
    │   └── CollectorError              a device answered badly            (HTTP 502)
    │       ├── FrameError              bytes do not form a frame, or a frame of the wrong shape
    │       │   └── ChecksumError       the XOR checksum of a frame does not match
    │       ├── StatusError             SW3 is not success; ``category`` says what kind
    │       ├── DeviceTimeoutError      no complete answer before the deadline   (HTTP 504)
    │       ├── DeviceGoneError         the port cannot be opened, or vanished (unplugged)
    │       └── CardDataError           the card's text block cannot be decoded  (HTTP 422)
    └── UsageError
        └── CollectorConfigError        a collector setting cannot work

An expired card is not an error: :class:`~node.collector.card.CardChecks` flags
it, and the node decides what to do with the record.

Messages name the command, the status byte and the expected and seen sizes;
never a name, an ID number or any other text read from a card.
"""

from __future__ import annotations

import enum
from typing import Any

from crypto.errors import InputError, UsageError

__all__ = [
    "CardDataError",
    "ChecksumError",
    "CollectorConfigError",
    "CollectorError",
    "DeviceGoneError",
    "DeviceTimeoutError",
    "FrameError",
    "StatusCategory",
    "StatusError",
]


class StatusCategory(enum.StrEnum):
    """What kind of outcome a status byte (SW3) reports; the values are the CSV's."""

    SUCCESS = "success"
    INFO = "info"
    CARD_ABSENT = "card_absent"
    CARD_ERROR = "card_error"
    MODULE_ERROR = "module_error"
    TRANSPORT_ERROR = "transport_error"


class CollectorError(InputError):
    """The ID-card reader answered badly, or not at all."""

    http_status = 502
    code = "collector_error"

    def diagnostics(self) -> str:
        """Return operator guidance."""
        return "check that the reader is plugged in and that the port setting names it"


class FrameError(CollectorError):
    """Bytes from the device do not form a frame, or the frame has the wrong shape."""

    code = "collector_bad_frame"

    def diagnostics(self) -> str:
        """Return operator guidance."""
        return "noise on the line or a wrong baud rate; check the cable and the baud setting"


class ChecksumError(FrameError):
    """A frame's XOR checksum does not match its bytes."""

    code = "collector_bad_checksum"


class StatusError(CollectorError):
    """The module answered with a status byte that is not success.

    Attributes:
        sw3: the status byte.
        category: what kind of failure it is (card absent, card, module, transport).
    """

    code = "collector_status"

    def __init__(self, message: str, *, sw3: int, category: StatusCategory, **fields: Any) -> None:
        super().__init__(message, sw3=f"0x{sw3:02X}", category=category.value, **fields)
        self.sw3 = sw3
        self.category = category

    def diagnostics(self) -> str:
        """Return operator guidance for the status category."""
        return _STATUS_HINTS.get(self.category, super().diagnostics())


_STATUS_HINTS = {
    StatusCategory.CARD_ABSENT: "place the card flat on the reader and keep it still",
    StatusCategory.CARD_ERROR: "lift the card and place it on the reader again",
    StatusCategory.MODULE_ERROR: "power-cycle the reader; if this persists, have it serviced",
    StatusCategory.TRANSPORT_ERROR: "noise on the line; check the cable and the baud setting",
}


class DeviceTimeoutError(CollectorError):
    """The device sent no complete answer before the deadline."""

    http_status = 504
    code = "collector_timeout"

    def diagnostics(self) -> str:
        """Return operator guidance."""
        return "the reader is silent: check power, cable and speed (`muster collector probe`)"


class DeviceGoneError(CollectorError):
    """The serial port cannot be opened, or it vanished (the reader was unplugged)."""

    code = "collector_gone"

    def diagnostics(self) -> str:
        """Return operator guidance."""
        return (
            "plug the reader back in; a stable path such as /dev/serial/by-id/... "
            "survives re-plugging, /dev/ttyUSB0 may not"
        )


class CardDataError(CollectorError):
    """The card's data arrived intact but cannot be decoded as a known card layout."""

    http_status = 422
    code = "collector_card_data"

    def diagnostics(self) -> str:
        """Return operator guidance."""
        return "enter the card's fields by hand and report the card type to the maintainers"


class CollectorConfigError(UsageError):
    """A collector setting (port URL, baud rate, timeouts, photo decoder) cannot work."""

    code = "collector_config"
