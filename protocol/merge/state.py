"""A record's merged state: one multi-value register per field.

Each field keeps its *heads* (the ops that no other op we hold has superseded,
winner first) and the set of op ids it has seen superseded (*covered*). The
record keeps its version: the greatest ``(hlc, op id)`` of every op delivered to
it. ``docs/merge.md`` §3 states the rules; :mod:`protocol.merge.apply` applies them.

Inside, a version is the pair ``(encoded hlc, op id)``: the encoding sorts like
the timestamps, so plain tuple comparison orders versions. The winner's value
lives in one dict of values, and a create shares one register object across all
the fields it sets, so a forty-field create costs two dict copies, not forty steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from crypto.errors import UsageError
from protocol.hlc import Timestamp
from protocol.merge._reg import Reg, Version
from protocol.merge._rows import row_to_state, state_to_row
from protocol.ops import STATUS_FIELD, Value

__all__ = ["STATUS_PENDING", "FieldState", "Head", "RecordState"]

#: The status of a record whose create has not arrived yet (ops can come first).
STATUS_PENDING: Final = "pending"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Head:
    """One competing version of a field: the op that wrote it, when, and the value."""

    op_id: str
    hlc: Timestamp
    value: Value = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FieldState:
    """A field's register: heads (winner first) and the op ids seen superseded."""

    heads: tuple[Head, ...]
    covered: frozenset[str]

    @property
    def value(self) -> Value:
        """The current value: the head with the greatest hlc wins."""
        return self.heads[0].value

    @property
    def conflicted(self) -> bool:
        """True while concurrent edits are open (more than one head)."""
        return len(self.heads) > 1


class RecordState:
    """The state of one record: per-field registers, current values and version.

    Immutable: :func:`protocol.merge.apply_op` returns a new state. Equality
    compares record id, registers, values (with their exact types) and version.
    The repr names no values.
    """

    __slots__ = ("_regs", "_values", "_version", "record_id")

    record_id: str
    _values: dict[str, Value]
    _regs: dict[str, Reg]
    _version: Version | None

    def __init__(self, record_id: str) -> None:
        """Make the state of a record no op has touched yet."""
        _init(self, record_id, {}, {}, None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"RecordState is immutable: cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordState):
            return NotImplemented
        return (
            self.record_id == other.record_id
            and self._version == other._version
            and self._regs == other._regs
            and self._values == other._values
            # 1 == 1.0 == True in Python; as field values they differ.
            and _types(self) == _types(other)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"RecordState(record_id={self.record_id!r}, version={self.version!r}, "
            f"status={self.status!r}, fields={len(self._regs)}, "
            f"open_conflicts={sorted(self.open_conflicts())!r})"
        )

    @property
    def version(self) -> str | None:
        """The op id of the greatest op (by hlc) delivered to this record, or None."""
        return None if self._version is None else self._version[1]

    @property
    def version_hlc(self) -> Timestamp | None:
        """The timestamp of :attr:`version`, or None."""
        return None if self._version is None else Timestamp.decode(self._version[0])

    @property
    def status(self) -> str:
        """``live``, ``deleted``, ``merged:<survivor>``, or ``pending`` before the create."""
        status = self._values.get(STATUS_FIELD, STATUS_PENDING)
        return status if isinstance(status, str) else STATUS_PENDING

    @property
    def fields(self) -> Mapping[str, FieldState]:
        """Every field's register in public form (built on each access)."""
        return MappingProxyType({name: self._field_state(name) for name in self._regs})

    def field_state(self, field: str) -> FieldState | None:
        """The register of ``field``, or None if no op has written it."""
        return self._field_state(field) if field in self._regs else None

    def value(self, field: str, default: Value = None) -> Value:
        """The current value of ``field`` (the winning head's), or ``default``."""
        return self._values.get(field, default)

    def values(self) -> dict[str, Value]:
        """The current value of every field, ``_status`` included (a new dict)."""
        return dict(self._values)

    def open_conflicts(self) -> frozenset[str]:
        """The fields with more than one head."""
        return frozenset(name for name, reg in self._regs.items() if len(reg.heads) > 1)

    def to_row(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return ``(values, versions)``: plain JSON-able dicts for one storage row.

        ``docs/merge.md`` §4 describes the layout of ``versions``.
        """
        return state_to_row(self._values, self._regs, self._version)

    @classmethod
    def from_row(
        cls, record_id: str, values: Mapping[str, Any], versions: Mapping[str, Any]
    ) -> RecordState:
        """Rebuild a state from :meth:`to_row`'s output.

        Raises:
            UsageError: the row was not made by :meth:`to_row` (or was damaged).
        """
        regs, vals, version = row_to_state(values, versions)
        return make_state(record_id, vals, regs, version)

    def _field_state(self, field: str) -> FieldState:
        reg = self._regs[field]
        heads = tuple(
            Head(op_id=op_id, hlc=Timestamp.decode(hlc), value=value)
            for (hlc, op_id), value in zip(
                reg.heads, (self._values.get(field), *reg.others), strict=True
            )
        )
        return FieldState(heads=heads, covered=reg.covered)


def make_state(
    record_id: str, values: dict[str, Value], regs: dict[str, Reg], version: Version | None
) -> RecordState:
    """Build a state from parts the caller owns and will not change (internal)."""
    if not isinstance(record_id, str):
        raise UsageError("record state: expected a record id")
    state = object.__new__(RecordState)
    _init(state, record_id, values, regs, version)
    return state


def parts(state: RecordState) -> tuple[dict[str, Value], dict[str, Reg], Version | None]:
    """The internal parts of a state, to be copied, never changed (internal)."""
    return state._values, state._regs, state._version


def _types(state: RecordState) -> tuple[dict[str, type], list[type]]:
    return (
        {name: type(value) for name, value in state._values.items()},
        [type(value) for name in sorted(state._regs) for value in state._regs[name].others],
    )


def _init(
    state: RecordState,
    record_id: str,
    values: dict[str, Value],
    regs: dict[str, Reg],
    version: Version | None,
) -> None:
    _SET_RECORD_ID(state, record_id)
    _SET_VALUES(state, values)
    _SET_REGS(state, regs)
    _SET_VERSION(state, version)


_SET_RECORD_ID: Final = RecordState.__dict__["record_id"].__set__
_SET_VALUES: Final = RecordState.__dict__["_values"].__set__
_SET_REGS: Final = RecordState.__dict__["_regs"].__set__
_SET_VERSION: Final = RecordState.__dict__["_version"].__set__
