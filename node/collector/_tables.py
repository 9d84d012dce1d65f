"""The reference tables shipped in ``node/collector/data``, read once and cached.

The CSV files are copies of the project's reference data; the product never
reads the shared reference folder at run time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType

__all__ = [
    "CommandRow",
    "StatusRow",
    "TextFieldRow",
    "command_rows",
    "ethnicity_names",
    "sex_names",
    "status_rows",
    "text_field_rows",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRow:
    """One row of ``idcard_sam_commands.csv``."""

    name: str
    cmd: int
    para: int
    request_frame: bytes
    success_sw3: int
    #: The success reply's data length when it is fixed; None when it varies.
    response_data_length: int | None
    timeout_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusRow:
    """One row of ``idcard_sam_status_codes.csv``."""

    sw3: int
    meaning_zh: str
    meaning_en: str
    category: str
    typical_command: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TextFieldRow:
    """One row of ``idcard_text_fields.csv``: where a field sits in the 256-byte block."""

    card_type: str
    field_key: str
    offset: int
    length_bytes: int
    format: str


def _rows(name: str) -> list[dict[str, str]]:
    text = files("node.collector.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _hex(text: str) -> int:
    return int(text, 16)


@cache
def command_rows() -> tuple[CommandRow, ...]:
    """Return the SAM command table."""
    return tuple(
        CommandRow(
            name=row["name"],
            cmd=_hex(row["cmd"]),
            # set_baud_rate lists a range (0x00..0x04); its default is the first.
            para=_hex(row["para"].split("..")[0]),
            request_frame=bytes.fromhex(row["request_frame_hex"]),
            success_sw3=_hex(row["success_sw3"]),
            response_data_length=(
                int(row["response_data_length"]) if row["response_data_length"].isdigit() else None
            ),
            timeout_s=int(row["timeout_hint_ms"]) / 1000,
        )
        for row in _rows("idcard_sam_commands.csv")
    )


@cache
def status_rows() -> tuple[StatusRow, ...]:
    """Return the SW3 status table."""
    return tuple(
        StatusRow(
            sw3=_hex(row["sw3"]),
            meaning_zh=row["meaning_zh"],
            meaning_en=row["meaning_en"],
            category=row["category"],
            typical_command=row["typical_command"],
        )
        for row in _rows("idcard_sam_status_codes.csv")
    )


@cache
def text_field_rows() -> tuple[TextFieldRow, ...]:
    """Return the text-block layout of every card type."""
    return tuple(
        TextFieldRow(
            card_type=row["card_type"],
            field_key=row["field_key"],
            offset=int(row["offset"]),
            length_bytes=int(row["length_bytes"]),
            format=row["format"],
        )
        for row in _rows("idcard_text_fields.csv")
    )


@cache
def ethnicity_names() -> Mapping[str, str]:
    """Return ethnicity code → full Chinese name (``01`` → ``汉族``)."""
    return MappingProxyType({row["code"]: row["name_zh"] for row in _rows("ethnicity.csv")})


@cache
def sex_names() -> Mapping[str, str]:
    """Return sex code → Chinese name (``1`` → ``男性``)."""
    return MappingProxyType({row["code"]: row["name_zh"] for row in _rows("sex.csv")})
