"""Which side is authoritative for which field: configuration, with a documented default.

A finding on a field the register is authoritative for proposes the register's
value (the collector is asked to correct the record); on a field the collected
record is authoritative for, the register is reported as wrong; otherwise the
finding only says the two disagree. The default follows the campaign: public
security for identity and household fields, civil affairs for social
assistance, human resources and social security for pensions, medical insurance
for medical cover, and the veterans-affairs record itself for categories,
disability levels and state pensions.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from hub.crosscheck.errors import CrosscheckConfigError
from hub.crosscheck.fields import SourceKind
from protocol.schema import Schema

__all__ = ["DEFAULT_AUTHORITY", "RECORD_SIDE", "Authority", "AuthorityPolicy"]

#: The key under which the record-authoritative fields are configured.
RECORD_SIDE: Final = "record"


class Authority(enum.StrEnum):
    """The side whose value counts for a finding's field."""

    REGISTER = "register"
    RECORD = "record"
    NONE = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorityPolicy:
    """Fields each source kind is authoritative for, and the fields the record is.

    Attributes:
        registers: ``(source kind, fields)`` pairs.
        record: fields the collected record is authoritative for.
    """

    registers: tuple[tuple[SourceKind, frozenset[str]], ...]
    record: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        kinds = [kind for kind, _fields in self.registers]
        if len(set(kinds)) != len(kinds):
            raise CrosscheckConfigError("authority: a source kind is listed twice")
        for kind, fields in self.registers:
            both = sorted(fields & self.record)
            if both:
                raise CrosscheckConfigError(
                    f"authority: field {both[0]} is given to both {kind.value} and the record",
                    field=both[0],
                )

    def authority(self, source_kind: SourceKind, field_key: str) -> Authority:
        """Who is authoritative for ``field_key`` when ``source_kind``'s register disagrees."""
        for kind, fields in self.registers:
            if kind is source_kind and field_key in fields:
                return Authority.REGISTER
        if field_key in self.record:
            return Authority.RECORD
        return Authority.NONE

    def check(self, schema: Schema) -> AuthorityPolicy:
        """Return the policy after checking every field is one of ``schema``'s.

        Raises:
            CrosscheckConfigError: a field is not in the schema.
        """
        for fields in [f for _kind, f in self.registers] + [self.record]:
            for key in sorted(fields):
                if not schema.has_field(key):
                    raise CrosscheckConfigError(f"authority: unknown field {key[:60]!r}")
        return self

    @classmethod
    def from_mapping(cls, table: Mapping[str, Iterable[str]]) -> AuthorityPolicy:
        """Read a ``[crosscheck.authority]`` TOML table: source kind (or ``record``) → fields.

        Raises:
            CrosscheckConfigError: an unknown source kind, or a value that is not a list.
        """
        registers = []
        record: frozenset[str] = frozenset()
        for key, fields in table.items():
            if isinstance(fields, str) or not all(isinstance(f, str) for f in fields):
                raise CrosscheckConfigError(f"authority.{key[:40]}: expected a list of fields")
            if key == RECORD_SIDE:
                record = frozenset(fields)
                continue
            try:
                kind = SourceKind(key)
            except ValueError:
                raise CrosscheckConfigError(
                    f"authority: unknown source kind {key[:40]!r}; expected one of "
                    f"{', '.join(k.value for k in SourceKind)} or {RECORD_SIDE}"
                ) from None
            registers.append((kind, frozenset(fields)))
        return cls(registers=tuple(registers), record=record)

    def to_mapping(self) -> dict[str, list[str]]:
        """The policy as a TOML-able table (the inverse of :meth:`from_mapping`)."""
        table = {kind.value: sorted(fields) for kind, fields in self.registers}
        table[RECORD_SIDE] = sorted(self.record)
        return table


_IDENTITY_AND_HOUSEHOLD: Final = frozenset(
    {"name", "sex", "birth_date", "ethnicity", "id_number", "hukou_division_code",
     "hukou_address", "living_status"}
)  # fmt: skip

DEFAULT_AUTHORITY: Final = AuthorityPolicy(
    registers=(
        (SourceKind.PUBLIC_SECURITY, _IDENTITY_AND_HOUSEHOLD),
        (
            SourceKind.CIVIL_AFFAIRS,
            frozenset({"receives_minimum_living_allowance", "extreme_poverty_support"}),
        ),
        (SourceKind.HR_SOCIAL, frozenset({"pension_insurance"})),
        (SourceKind.MEDICAL, frozenset({"medical_insurance"})),
    ),
    record=frozenset({"subject_category", "disability_level", "receives_periodic_benefit"}),
)
