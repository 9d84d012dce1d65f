"""The SAM commands: their bytes, success status, reply size and timeout hint.

The command set is fixed in code (so callers get an enum); the facts about each
command come from the shipped ``idcard_sam_commands.csv``, and a test checks
that the two agree.
"""

from __future__ import annotations

import enum

from crypto.errors import UsageError
from node.collector._tables import CommandRow, command_rows
from node.collector.frames import Request

__all__ = ["BAUD_RATES", "Command", "baud_rate_index"]

#: Speeds the module supports, in the order hosts probe them; the index is 0x60's parameter.
BAUD_RATES: tuple[int, ...] = (115200, 57600, 38400, 19200, 9600)


def baud_rate_index(baudrate: int) -> int:
    """Return the ``set_baud_rate`` parameter for ``baudrate``.

    Raises:
        UsageError: the module does not support that speed.
    """
    if baudrate not in BAUD_RATES:
        raise UsageError(f"baud rate {baudrate}: expected one of {BAUD_RATES}")
    return BAUD_RATES.index(baudrate)


class Command(enum.Enum):
    """A SAM command; the value is its name in the command table."""

    RESET_SAM = "reset_sam"
    GET_SAM_STATUS = "get_sam_status"
    GET_SAM_ID = "get_sam_id"
    FIND_CARD = "find_card"
    SELECT_CARD = "select_card"
    READ_BASE = "read_base"
    READ_APPENDED_ADDRESS = "read_appended_address"
    READ_BASE_WITH_FINGERPRINT = "read_base_with_fingerprint"
    SET_BAUD_RATE = "set_baud_rate"
    SET_MAX_RF_BYTES = "set_max_rf_bytes"

    @property
    def spec(self) -> CommandRow:
        """The command's row in the shipped command table."""
        return _SPECS[self.value]

    @property
    def cmd(self) -> int:
        """The CMD byte."""
        return self.spec.cmd

    @property
    def para(self) -> int:
        """The default PARA byte."""
        return self.spec.para

    @property
    def success_sw3(self) -> int:
        """The SW3 byte that means success for this command."""
        return self.spec.success_sw3

    @property
    def timeout_s(self) -> float:
        """The table's timeout hint in seconds."""
        return self.spec.timeout_s

    def request(self, *, para: int | None = None, data: bytes = b"") -> Request:
        """Build this command's request (``para`` overrides the default, e.g. for 0x60)."""
        return Request(cmd=self.cmd, para=self.para if para is None else para, data=data)

    @classmethod
    def identify(cls, request: Request) -> Command | None:
        """Return the command a request carries, or None for an unknown one."""
        for command in cls:
            # 0x60 takes the speed index as PARA, so it is known by CMD alone.
            if command.cmd == request.cmd and (
                command is cls.SET_BAUD_RATE or command.para == request.para
            ):
                return command
        return None


def _load_specs() -> dict[str, CommandRow]:
    specs = {row.name: row for row in command_rows()}
    missing = [command.value for command in Command if command.value not in specs]
    if missing:
        raise UsageError(f"command table lacks {missing}: expected a row for every command")
    return specs


_SPECS = _load_specs()
