"""Column mappings: which register column holds which canonical field, saved per source.

A mapping names columns by header text, not by position, so next month's extract
of the same register imports with the same mapping even if its columns moved.
:func:`propose_mapping` guesses one from a header row (Chinese and English
synonyms); the console shows the guess, the administrator corrects it once, and
the hub stores it with :meth:`ColumnMapping.to_json` beside the source.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from hub.crosscheck.cells import Value
from hub.crosscheck.errors import MappingError
from hub.crosscheck.fields import RegisterField, SourceKind, field_for_header, header_key

__all__ = ["MAPPING_FORMAT", "ColumnMapping", "ColumnRule", "propose_mapping"]

#: The version of the JSON form written by :meth:`ColumnMapping.to_json`.
MAPPING_FORMAT: Final = 1
_MAX_SOURCE: Final = 100
_MAX_HEADER: Final = 200
_MAX_COLUMNS: Final = 500
_STATUS: Final = frozenset({RegisterField.LIVING_STATUS, RegisterField.DECEASED})
#: Fields a register can state for everyone on it ("all on this list receive dibao").
_IMPLIABLE: Final = frozenset(
    {
        RegisterField.MINIMUM_LIVING_ALLOWANCE,
        RegisterField.EXTREME_POVERTY_SUPPORT,
        RegisterField.PERIODIC_BENEFIT,
        RegisterField.PENSION_INSURANCE,
        RegisterField.MEDICAL_INSURANCE,
        RegisterField.LIVING_STATUS,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnRule:
    """One mapped column: the header as the file writes it, and its canonical field."""

    header: str
    field: RegisterField

    def __post_init__(self) -> None:
        if not header_key(self.header) or len(self.header) > _MAX_HEADER:
            raise MappingError(
                f"column mapping: expected a header of 1..{_MAX_HEADER} characters",
                field=self.field.value,
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnMapping:
    """How to read one source's register.

    Attributes:
        source: the register's name as the hub lists it (``济南市公安局户籍``).
        source_kind: the department, which decides the fields it is authoritative for.
        columns: the mapped columns; other columns of the file are ignored.
        required: fields whose blank cell is a row problem.
        categories: subject categories everyone on this register belongs to (a
            pension list of disabled soldiers: ``("disabled_soldier",)``); a person
            on such a register without a record is *missing*.
        implied: values the register states for everyone on it, as canonical
            values of record fields (``(("receives_minimum_living_allowance", True),)``).
    """

    source: str
    source_kind: SourceKind
    columns: tuple[ColumnRule, ...]
    required: tuple[RegisterField, ...] = (RegisterField.ID_NUMBER,)
    categories: tuple[str, ...] = ()
    implied: tuple[tuple[RegisterField, Value], ...] = ()

    def __post_init__(self) -> None:
        if not self.source.strip() or len(self.source) > _MAX_SOURCE:
            raise MappingError(f"column mapping: expected a source name of 1..{_MAX_SOURCE} "
                               "characters")  # fmt: skip
        if not self.columns or len(self.columns) > _MAX_COLUMNS:
            raise MappingError(f"column mapping {self.source}: expected 1..{_MAX_COLUMNS} "
                               f"mapped columns, saw {len(self.columns)}")  # fmt: skip
        fields = [rule.field for rule in self.columns]
        twice = sorted({f.value for f in fields if fields.count(f) > 1})
        if twice:
            raise MappingError(f"column mapping {self.source}: field {twice[0]} is mapped "
                               "from two columns", field=twice[0])  # fmt: skip
        keys = [header_key(rule.header) for rule in self.columns]
        if len(set(keys)) != len(keys):
            raise MappingError(f"column mapping {self.source}: a header is mapped twice")
        if RegisterField.DECEASED in fields and RegisterField.LIVING_STATUS in fields:
            raise MappingError(f"column mapping {self.source}: map either a deceased column "
                               "or a living status column, not both")  # fmt: skip
        if RegisterField.ID_NUMBER not in fields and RegisterField.NAME not in fields:
            raise MappingError(f"column mapping {self.source}: expected an ID number or a "
                               "name column")  # fmt: skip
        for field in self.required:
            if field not in fields:
                raise MappingError(f"column mapping {self.source}: required field "
                                   f"{field.value} has no column", field=field.value)  # fmt: skip
        for field, _value in self.implied:
            if field not in _IMPLIABLE:
                raise MappingError(f"column mapping {self.source}: field {field.value} "
                                   "cannot be implied for a whole register",
                                   field=field.value)  # fmt: skip

    @property
    def fields(self) -> tuple[RegisterField, ...]:
        """The mapped fields, in column order."""
        return tuple(rule.field for rule in self.columns)

    def locate(self, headers: Sequence[str]) -> tuple[tuple[int, ColumnRule], ...]:
        """Find each mapped column in a file's header row.

        Returns:
            ``(position, rule)`` pairs in the mapping's order.

        Raises:
            MappingError: a mapped header is not in the row, or appears twice.
        """
        positions: dict[str, list[int]] = {}
        for index, header in enumerate(headers):
            positions.setdefault(header_key(header), []).append(index)
        found = []
        for rule in self.columns:
            where = positions.get(header_key(rule.header), [])
            if len(where) != 1:
                seen = "missing" if not where else f"{len(where)} times"
                raise MappingError(
                    f"register for {self.source}: expected one column {rule.header!r} "
                    f"({rule.field.value}), header row has it {seen}",
                    field=rule.field.value,
                )
            found.append((where[0], rule))
        return tuple(found)

    def to_json(self) -> str:
        """The mapping as compact JSON, for the hub to store beside the source."""
        body = {
            "format": MAPPING_FORMAT,
            "source": self.source,
            "source_kind": self.source_kind.value,
            "columns": [[rule.header, rule.field.value] for rule in self.columns],
            "required": [field.value for field in self.required],
            "categories": list(self.categories),
            "implied": [[field.value, _jsonable(value)] for field, value in self.implied],
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> ColumnMapping:
        """Read a mapping written by :meth:`to_json`.

        Raises:
            MappingError: the text is not a mapping of this format, or breaks a rule.
        """
        try:
            body = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise MappingError("column mapping: expected JSON") from exc
        keys = {"format", "source", "source_kind", "columns", "required", "categories",
                "implied"}  # fmt: skip
        if not isinstance(body, dict) or set(body) != keys:
            raise MappingError(f"column mapping: expected an object with keys "
                               f"{', '.join(sorted(keys))}")  # fmt: skip
        if body["format"] != MAPPING_FORMAT:
            raise MappingError(
                f"column mapping: expected format {MAPPING_FORMAT}, saw {body['format']!r}"
            )
        try:
            return cls(
                source=_str(body["source"]),
                source_kind=SourceKind(body["source_kind"]),
                columns=tuple(
                    ColumnRule(header=_str(header), field=RegisterField(field))
                    for header, field in _pairs(body["columns"])
                ),
                required=tuple(RegisterField(field) for field in _list(body["required"])),
                categories=tuple(_str(key) for key in _list(body["categories"])),
                implied=tuple(
                    (RegisterField(field), _value(value))
                    for field, value in _pairs(body["implied"])
                ),
            )
        except ValueError as exc:
            raise MappingError(f"column mapping: unknown field or source kind ({exc})") from None


def _jsonable(value: Value) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise MappingError("column mapping: expected a list")
    return value


def _pairs(value: object) -> list[tuple[Any, Any]]:
    items = _list(value)
    if not all(isinstance(item, list) and len(item) == 2 for item in items):
        raise MappingError("column mapping: expected a list of [header, field] pairs")
    return [(item[0], item[1]) for item in items]


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise MappingError("column mapping: expected text")
    return value


def _value(value: object) -> Value:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    if isinstance(value, str | bool | int | float):
        return value
    raise MappingError("column mapping: an implied value must be text, a number, "
                       "true/false or a list of text")  # fmt: skip


def propose_mapping(
    headers: Iterable[str],
    *,
    source: str,
    source_kind: SourceKind,
    categories: Sequence[str] = (),
    implied: Mapping[RegisterField, Value] | None = None,
) -> ColumnMapping:
    """Guess a mapping from a header row: each header that is a known synonym is mapped.

    The first column naming a field wins; unknown headers are left out (extra
    columns are ignored at import). The ID number is required when a column
    holds it, otherwise the name is.

    Raises:
        MappingError: no header names an ID number or a name.
    """
    rules: list[ColumnRule] = []
    taken: set[RegisterField] = set()
    for header in headers:
        field = field_for_header(header)
        # Living status and a deceased flag say the same thing: the first one wins.
        if field is None or field in taken or (field in _STATUS and taken & _STATUS):
            continue
        taken.add(field)
        rules.append(ColumnRule(header=header.strip(), field=field))
    if not rules:
        raise MappingError(f"register for {source}: no header is a known field name")
    required = (
        (RegisterField.ID_NUMBER,) if RegisterField.ID_NUMBER in taken else (RegisterField.NAME,)
    )
    return ColumnMapping(
        source=source,
        source_kind=source_kind,
        columns=tuple(rules),
        required=required if required[0] in taken else (),
        categories=tuple(categories),
        implied=tuple((implied or {}).items()),
    )
