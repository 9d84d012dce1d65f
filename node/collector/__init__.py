"""The ID-card reader driver and its simulator (docs/collector.md).

Pure core: :mod:`~node.collector.frames` (frame codec), :mod:`~node.collector.commands`,
:mod:`~node.collector.status`, :mod:`~node.collector.textblock` and
:mod:`~node.collector.card_text` (the 256-byte text block), :mod:`~node.collector.card`
(the decoded value and its cross-checks). I/O shell: :mod:`~node.collector.transport`
(pyserial), :mod:`~node.collector.link` (deadlines, retries), :mod:`~node.collector.reader`
(the reading cycle). Simulator: :mod:`~node.collector.simulator` with its module model,
fault script and cards.
"""

from __future__ import annotations

from node.collector.card import (
    CARD_PHOTO_LABEL,
    CardChecks,
    CardPhoto,
    CardRead,
    SamId,
    check_card,
)
from node.collector.card_text import LONG_TERM, CardText
from node.collector.commands import BAUD_RATES, Command
from node.collector.config import CollectorConfig, Timeouts
from node.collector.errors import (
    CardDataError,
    ChecksumError,
    CollectorConfigError,
    CollectorError,
    DeviceGoneError,
    DeviceTimeoutError,
    FrameError,
    StatusCategory,
    StatusError,
)
from node.collector.frames import BadFrame, Frame, FrameDecoder, Request, Response
from node.collector.photo import PhotoDecoder, load_photo_decoder
from node.collector.reader import Reader
from node.collector.textblock import CardType

__all__ = [
    "BAUD_RATES",
    "CARD_PHOTO_LABEL",
    "LONG_TERM",
    "BadFrame",
    "CardChecks",
    "CardDataError",
    "CardPhoto",
    "CardRead",
    "CardText",
    "CardType",
    "ChecksumError",
    "CollectorConfig",
    "CollectorConfigError",
    "CollectorError",
    "Command",
    "DeviceGoneError",
    "DeviceTimeoutError",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "PhotoDecoder",
    "Reader",
    "Request",
    "Response",
    "SamId",
    "StatusCategory",
    "StatusError",
    "Timeouts",
    "check_card",
    "load_photo_decoder",
]
