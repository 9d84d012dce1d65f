"""Findings: what a register says that the collected records do not, field by field.

Pure. For a row matched to a record, each field both sides hold is compared in
canonical form (names unspaced, addresses without spacing or punctuation,
division codes by containment); a difference is a finding naming both values,
the source, and the side that is authoritative (:mod:`hub.crosscheck.authority`),
with the register's value proposed when the register is. Rows themselves give
findings too: an invalid ID number, an ID number on several rows, and a person
of a collected category with no record (*missing*).

A finding's id is a hash of the source, its subject (the record, else the
person's ID number, else the row), the field and the kind, so the same problem
found again, in a re-check or in next month's extract of the same register, has
the same id and the hub can carry its state over or close it.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from functools import partial
from typing import Final

from crypto.errors import UsageError
from crypto.hashing import tagged_hash
from hub.crosscheck.authority import DEFAULT_AUTHORITY, Authority, AuthorityPolicy
from hub.crosscheck.cells import Value, normalise_name
from hub.crosscheck.dataset import Dataset, RegisterRow
from hub.crosscheck.fields import DECEASED, RegisterField, SourceKind, record_key
from hub.crosscheck.mapping import ColumnMapping
from hub.crosscheck.matching import MatchConfig, MatchProposal, RecordIndex, match_row
from protocol.divisions import contains
from protocol.errors import DivisionCodeError
from protocol.schema import CATEGORY_FIELD

__all__ = [
    "TAG_FINDING",
    "Finding",
    "FindingKind",
    "FindingScope",
    "check_dataset",
    "compare_row",
    "compared_fields",
    "finding_id",
    "row_finding",
    "row_findings",
]

#: Domain-separation tag of finding ids.
TAG_FINDING: Final = b"muster/crosscheck/finding/v1"
_ID_BYTES: Final = 16

_LIVING: Final = RegisterField.LIVING_STATUS.value
_DIVISION: Final = RegisterField.HUKOU_DIVISION_CODE.value
_ADDRESS: Final = RegisterField.HUKOU_ADDRESS.value
_NAME: Final = RegisterField.NAME.value
_DEATH: Final = RegisterField.DEATH_DATE.value
_BENEFITS: Final = frozenset(
    {
        RegisterField.MINIMUM_LIVING_ALLOWANCE.value,
        RegisterField.EXTREME_POVERTY_SUPPORT.value,
        RegisterField.PERIODIC_BENEFIT.value,
    }
)
#: Mapped but never compared: phones change and are not the register's business.
_NOT_COMPARED: Final = frozenset({RegisterField.ID_NUMBER.value, RegisterField.PHONE.value})
#: The register's identity fields carried in a finding that has no record.
_PERSON_FIELDS: Final = ("name", "sex", "birth_date", "hukou_division_code", "hukou_address")
_ADDRESS_NOISE: Final = re.compile(r"[\s,，.。、·\-—#()（）]+")


class FindingKind(enum.StrEnum):
    VALUE_MISMATCH = "value_mismatch"
    DECEASED = "deceased"
    BENEFIT_ONE_SIDE = "benefit_one_side"
    INVALID_ID_NUMBER = "invalid_id_number"
    DUPLICATE_ID_NUMBER = "duplicate_id_number"
    MISSING = "missing"


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingScope:
    """The register a finding comes from."""

    source: str
    source_kind: SourceKind
    dataset_id: str

    @classmethod
    def of(cls, dataset: Dataset) -> FindingScope:
        return cls(source=dataset.source, source_kind=dataset.source_kind,
                   dataset_id=dataset.dataset_id)  # fmt: skip


def finding_id(*, source: str, subject: str, field: str | None, kind: FindingKind) -> str:
    """The stable id of a finding: 32 hex digits of a tagged BLAKE2b hash."""
    parts = (source, subject, field or "", kind.value)
    return tagged_hash(TAG_FINDING, *(p.encode() for p in parts), size=_ID_BYTES).hex()


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One problem found by a cross-check, for one record (or register row) and field.

    Attributes:
        finding_id: stable id (:func:`finding_id`).
        kind: what is wrong.
        source: the register's name; ``source_kind`` its department.
        dataset_id: the dataset it was (last) found in; ``row`` the row there.
        record_id: the collected record, when the row was matched to one.
        field: the record field concerned, when the finding is about one field.
        register_value: the register's canonical value; ``record_value`` the record's.
        authority: which side is authoritative for ``field``.
        proposed_value: the value the record should take (the register's, when it
            is authoritative), else ``None``.
        division_code: the household registration division the finding is routed by.
        person: the register's identity values, for findings without a record
            (the office must find the person); empty otherwise.
        details: further canonical values (``death_date``).
    """

    finding_id: str
    kind: FindingKind
    source: str
    source_kind: SourceKind
    dataset_id: str
    row: int | None
    record_id: str | None
    field: str | None
    # Personal data stays out of reprs (and so out of tracebacks and logs).
    register_value: Value | None = _field(default=None, repr=False)
    record_value: Value | None = _field(default=None, repr=False)
    authority: Authority = Authority.NONE
    proposed_value: Value | None = _field(default=None, repr=False)
    division_code: str | None = None
    person: tuple[tuple[str, Value], ...] = _field(default=(), repr=False)
    details: tuple[tuple[str, Value], ...] = _field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.record_id is None and self.row is None:
            raise UsageError(f"finding {self.finding_id}: needs a record or a register row")
        if self.proposed_value is not None and self.authority is not Authority.REGISTER:
            raise UsageError(
                f"finding {self.finding_id}: a value is proposed only when the register "
                "is authoritative"
            )


def compared_fields(mapping: ColumnMapping) -> tuple[str, ...]:
    """The record fields a register with ``mapping`` is compared on (index these)."""
    keys = [record_key(f) for f in mapping.fields] + [f.value for f, _v in mapping.implied]
    if mapping.categories:
        keys.append(CATEGORY_FIELD)
    return tuple(dict.fromkeys(k for k in keys if k is not None and k not in _NOT_COMPARED))


def _address(value: object) -> str:
    return _ADDRESS_NOISE.sub("", unicodedata.normalize("NFKC", str(value)))


def _divisions_agree(register: str, record: str) -> bool:
    try:
        return contains(register, record) or contains(record, register)
    except DivisionCodeError:
        return register == record


def _inside(outer: str, inner: str) -> bool:
    try:
        return contains(outer, inner)
    except DivisionCodeError:
        return False


def _kind_of(key: str, register: Value, record: Value | None) -> FindingKind | None:
    """The finding a register value gives against the record's, or ``None`` when they agree."""
    if key in _BENEFITS:
        if (register is True and record is not True) or (register is False and record is True):
            return FindingKind.BENEFIT_ONE_SIDE
        return None
    if record is None:
        # The record has not filled the field: nothing disagrees (validation owns completeness).
        return None
    if key == _LIVING and register == DECEASED:
        return None if record == DECEASED else FindingKind.DECEASED
    if key == CATEGORY_FIELD:
        held = set(record) if isinstance(record, tuple) else {record}
        wanted = set(register) if isinstance(register, tuple) else {register}
        return None if wanted <= held else FindingKind.VALUE_MISMATCH
    if key == _NAME:
        same = normalise_name(register) == normalise_name(record)
    elif key == _ADDRESS:
        same = _address(register) == _address(record)
    elif key == _DIVISION:
        same = _divisions_agree(str(register), str(record))
    else:
        same = register == record
    return None if same else FindingKind.VALUE_MISMATCH


def _proposal(key: str, register: Value, record: Value | None) -> Value:
    if key == CATEGORY_FIELD and isinstance(record, tuple) and isinstance(register, tuple):
        return tuple(sorted(set(record) | set(register)))
    return register


def compare_row(
    row: RegisterRow,
    record_id: str,
    record_value: Callable[[str], Value | None],
    *,
    scope: FindingScope,
    keys: Collection[str],
    division_code: str | None,
    policy: AuthorityPolicy = DEFAULT_AUTHORITY,
) -> list[Finding]:
    """Compare a row with the record it matched, on ``keys``; one finding per disagreement."""
    found = []
    for key in keys:
        register = row.get(key)
        if register is None:
            continue
        record = record_value(key)
        kind = _kind_of(key, register, record)
        if kind is None:
            continue
        authority = policy.authority(scope.source_kind, key)
        death = row.get(_DEATH)
        found.append(
            Finding(
                finding_id=finding_id(source=scope.source, subject=f"record:{record_id}",
                                      field=key, kind=kind),
                kind=kind, source=scope.source, source_kind=scope.source_kind,
                dataset_id=scope.dataset_id, row=row.row, record_id=record_id, field=key,
                register_value=register, record_value=record,
                authority=authority,
                proposed_value=(_proposal(key, register, record)
                                if authority is Authority.REGISTER else None),
                division_code=division_code,
                details=(((_DEATH, death),)
                         if kind is FindingKind.DECEASED and death is not None else ()),
            )
        )  # fmt: skip
    return found


def _row_subject(scope: FindingScope, row: RegisterRow) -> str:
    if row.id_number is not None:
        return f"person:{row.id_number}"
    if row.bad_id_number is not None:
        return f"bad-id:{row.bad_id_number.upper()}"
    return f"row:{scope.dataset_id}:{row.row}"


def _row_division(row: RegisterRow) -> str | None:
    if row.division_code is not None:
        return row.division_code
    # Digits 1-6 name the county that issued the number: the best guess without an address.
    number = row.id_number
    return number[:6] if number is not None else None


def row_finding(scope: FindingScope, row: RegisterRow, kind: FindingKind) -> Finding:
    """A finding about a row itself (no record): invalid or duplicate ID number, missing."""
    person = [(key, value) for key in _PERSON_FIELDS if (value := row.get(key)) is not None]
    number = row.id_number or row.bad_id_number
    if number is not None:
        person.append(("id_number", number))
    field_key = None if kind is FindingKind.MISSING else RegisterField.ID_NUMBER.value
    return Finding(
        finding_id=finding_id(source=scope.source, subject=_row_subject(scope, row),
                              field=field_key, kind=kind),
        kind=kind, source=scope.source, source_kind=scope.source_kind,
        dataset_id=scope.dataset_id, row=row.row, record_id=None, field=field_key,
        register_value=(row.bad_id_number if kind is FindingKind.INVALID_ID_NUMBER
                        else row.get(CATEGORY_FIELD) if kind is FindingKind.MISSING else None),
        division_code=_row_division(row), person=tuple(sorted(person)),
    )  # fmt: skip


def row_findings(
    scope: FindingScope, row: RegisterRow, *, matched: bool, proposed: bool, duplicate: bool
) -> list[Finding]:
    """The findings a row gives on its own, knowing whether it matched or got proposals."""
    found = []
    if row.bad_id_number is not None:
        found.append(row_finding(scope, row, FindingKind.INVALID_ID_NUMBER))
    if duplicate:
        found.append(row_finding(scope, row, FindingKind.DUPLICATE_ID_NUMBER))
    if not matched and not proposed and row.get(CATEGORY_FIELD):
        found.append(row_finding(scope, row, FindingKind.MISSING))
    return found


def check_dataset(
    dataset: Dataset | FindingScope,
    rows: Iterator[RegisterRow] | Collection[RegisterRow],
    index: RecordIndex,
    *,
    duplicates: Collection[str] = frozenset(),
    policy: AuthorityPolicy = DEFAULT_AUTHORITY,
    config: MatchConfig | None = None,
    coverage: str | None = None,
    implied: Mapping[str, Value] | None = None,
) -> Iterator[Finding | MatchProposal]:
    """Match every row and yield the findings and the proposals, streaming.

    Args:
        dataset: the dataset (or just its scope) the rows come from.
        rows: its rows, in any order.
        index: the collected records, indexed on the fields to compare.
        duplicates: ID numbers on more than one row of the dataset.
        policy: which side is authoritative for which field.
        config: how proposals are scored.
        coverage: the division the register is complete for; records there that
            claim an ``implied`` benefit but are not on the register get a
            ``benefit_one_side`` finding. ``None``: the register is not complete.
        implied: the values the register states for everyone on it.
    """
    scope = dataset if isinstance(dataset, FindingScope) else FindingScope.of(dataset)
    config = config or MatchConfig()
    keys = index.compared
    matched = bytearray(len(index))
    reported: set[str] = set()
    for row in rows:
        match = match_row(row, index, dataset_id=scope.dataset_id, config=config)
        duplicate = row.id_number in duplicates and row.id_number not in reported
        if duplicate and row.id_number is not None:
            reported.add(row.id_number)
        yield from row_findings(scope, row, matched=match.slot is not None,
                                proposed=bool(match.proposals), duplicate=duplicate)  # fmt: skip
        yield from match.proposals
        slot = match.slot
        if slot is None:
            continue
        matched[slot] = 1
        division = index.division_code(slot) or _row_division(row)
        yield from compare_row(row, index.record_id(slot), partial(index.value, slot),
                               scope=scope, keys=keys, division_code=division,
                               policy=policy)  # fmt: skip
    if coverage is not None and implied:
        yield from _unlisted(scope, index, matched, coverage=coverage, implied=implied,
                             policy=policy)  # fmt: skip


def _unlisted(
    scope: FindingScope,
    index: RecordIndex,
    matched: bytearray,
    *,
    coverage: str,
    implied: Mapping[str, Value],
    policy: AuthorityPolicy,
) -> Iterator[Finding]:
    """Records inside a complete register's coverage that claim its benefit but are not on it."""
    claims = [key for key, value in implied.items() if key in _BENEFITS and value is True]
    for slot in index.slots():
        division = index.division_code(slot)
        if matched[slot] or division is None or not _inside(coverage, division):
            continue
        record_id = index.record_id(slot)
        for key in claims:
            if index.value(slot, key) is not True:
                continue
            kind = FindingKind.BENEFIT_ONE_SIDE
            authority = policy.authority(scope.source_kind, key)
            yield Finding(
                finding_id=finding_id(source=scope.source, subject=f"record:{record_id}",
                                      field=key, kind=kind),
                kind=kind, source=scope.source, source_kind=scope.source_kind,
                dataset_id=scope.dataset_id, row=None, record_id=record_id, field=key,
                register_value=False, record_value=True, authority=authority,
                proposed_value=False if authority is Authority.REGISTER else None,
                division_code=division,
            )  # fmt: skip
