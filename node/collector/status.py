"""Status bytes (SW3) mapped to outcomes, and the check every reply goes through."""

from __future__ import annotations

from dataclasses import dataclass

from node.collector._tables import status_rows
from node.collector.commands import Command
from node.collector.errors import FrameError, StatusCategory, StatusError
from node.collector.frames import Response

__all__ = ["SW_OK", "StatusCategory", "StatusInfo", "check_response", "status_info"]

#: The generic success status.
SW_OK = 0x90
#: Non-success categories that are a normal outcome of the command the table names.
_OUTCOMES = (StatusCategory.INFO, StatusCategory.CARD_ABSENT)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusInfo:
    """What a status byte means."""

    sw3: int
    meaning_en: str
    meaning_zh: str
    category: StatusCategory
    #: The command for which this status is an expected outcome (``any``, ``all`` or a name).
    typical_command: str


_TABLE = {
    row.sw3: StatusInfo(
        sw3=row.sw3,
        meaning_en=row.meaning_en,
        meaning_zh=row.meaning_zh,
        category=StatusCategory(row.category),
        typical_command=row.typical_command,
    )
    for row in status_rows()
}


def status_info(sw3: int) -> StatusInfo:
    """Return what ``sw3`` means; a byte not in the table is a module error."""
    known = _TABLE.get(sw3)
    if known is not None:
        return known
    return StatusInfo(
        sw3=sw3,
        meaning_en="Unknown status",
        meaning_zh="未知状态",
        category=StatusCategory.MODULE_ERROR,
        typical_command="any",
    )


def check_response(command: Command, response: Response) -> StatusInfo:
    """Check a reply to ``command``; return its status when it is an expected outcome.

    Success is expected, and so are the ``info`` and ``card_absent`` statuses the
    table lists for this very command: 0x80 "no card" for ``find_card`` (the idle
    state, not an error) and 0x91 "no appended address" for
    ``read_appended_address``. The caller tells them apart by ``sw3``.

    Raises:
        StatusError: any other status; ``category`` tells card, module and line faults apart.
        FrameError: a success reply whose data has the wrong size for the command.
    """
    info = status_info(response.sw3)
    if response.sw3 in (SW_OK, command.success_sw3):
        expected = command.spec.response_data_length
        if expected is not None and len(response.data) != expected:
            raise FrameError(
                f"{command.value} reply carries {len(response.data)} data bytes: "
                f"expected {expected}",
                command=command.value,
            )
        return info
    if info.category in _OUTCOMES and info.typical_command == command.value:
        return info
    category = info.category
    if category in (StatusCategory.SUCCESS, StatusCategory.INFO):
        # Another command's success or info status here means the line or the
        # module mixed up replies: a transport fault, worth a retry.
        category = StatusCategory.TRANSPORT_ERROR
    raise StatusError(
        f"{command.value} answered status 0x{response.sw3:02X} ({info.meaning_en}): "
        f"expected 0x{command.success_sw3:02X}",
        sw3=response.sw3,
        category=category,
        command=command.value,
    )
