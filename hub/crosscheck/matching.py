"""Matching register rows to collected records: exact on the ID number, else proposed.

A row with a valid ID number matches the record holding that number, or none.
A row without a usable ID number gets *proposals*: records of the same birth
date (the block; or the same county and name when the row has no date), scored
on name similarity (rapidfuzz's Levenshtein, see docs/adr/0008), sex and the
household registration division. Proposals go to an administrator to confirm;
nothing is merged on a score. Blocking keeps the work per row to a handful of
comparisons, so a million rows against 200,000 records is a dictionary lookup
per row plus a few string comparisons for the rows without an ID number.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from rapidfuzz.distance import Levenshtein

from crypto.errors import UsageError
from hub.crosscheck.cells import Value, normalise_name
from hub.crosscheck.dataset import RegisterRow
from hub.crosscheck.errors import CrosscheckConfigError

__all__ = [
    "MatchConfig",
    "MatchProposal",
    "MatchReason",
    "RecordIndex",
    "RowMatch",
    "match_row",
]

_ID: Final = "id_number"
_NAME: Final = "name"
_BIRTH: Final = "birth_date"
_SEX: Final = "sex"
_DIVISION: Final = "hukou_division_code"
_KNOWN_SEX: Final = frozenset({"1", "2"})
#: A bad ID number this close to a record's (one or two typed characters) is a strong hint.
_CLOSE_ID: Final = 2
_COUNTY: Final = 6
_TOWN: Final = 9


class MatchReason(enum.StrEnum):
    """Why a record was proposed for a row (shown to the administrator)."""

    NAME_EXACT = "name_exact"
    NAME_SIMILAR = "name_similar"
    BIRTH_DATE_EQUAL = "birth_date_equal"
    SEX_EQUAL = "sex_equal"
    SEX_DIFFERS = "sex_differs"
    TOWN_EQUAL = "town_equal"
    COUNTY_EQUAL = "county_equal"
    DIVISION_DIFFERS = "division_differs"
    ID_NUMBER_CLOSE = "id_number_close"


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchConfig:
    """How proposals are scored; the score is the weighted share of evidence that agrees.

    Each piece of evidence counts only when both sides have it, so a row without
    a sex column is judged on the rest. A bad ID number within two characters of
    the record's adds ``id_close_bonus`` (capped at 1).
    """

    min_score: float = 0.8
    max_proposals: int = 3
    name_weight: float = 0.5
    birth_weight: float = 0.2
    sex_weight: float = 0.1
    division_weight: float = 0.2
    id_close_bonus: float = 0.15
    #: Blocks larger than this are narrowed to the row's county first.
    max_block: int = 2_000

    def __post_init__(self) -> None:
        weights = (self.name_weight, self.birth_weight, self.sex_weight, self.division_weight,
                   self.id_close_bonus)  # fmt: skip
        if min(weights) < 0 or self.name_weight <= 0:
            raise CrosscheckConfigError("match config: weights must be >= 0, the name's > 0")
        if not 0 < self.min_score <= 1:
            raise CrosscheckConfigError(
                f"match config: expected 0 < min_score <= 1, saw {self.min_score}"
            )
        if self.max_proposals < 1 or self.max_block < 1:
            raise CrosscheckConfigError("match config: max_proposals and max_block must be >= 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchProposal:
    """A record that may be the person on a row, for an administrator to confirm or refuse."""

    dataset_id: str
    row: int
    record_id: str
    score: float
    reasons: tuple[MatchReason, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.score <= 1:
            raise UsageError(f"match proposal: expected a score in 0..1, saw {self.score}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RowMatch:
    """What matching found for one row: the record (by index slot) or proposals."""

    row: RegisterRow
    slot: int | None = None
    proposals: tuple[MatchProposal, ...] = field(default=())


#: record id, ID number, name, birth date, sex, household division code.
_Person = tuple[str, str | None, str | None, str | None, str | None, str | None]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class RecordIndex:
    """The collected records as matching needs them, indexed by ID number and by block.

    Only the keys matching uses and the values of the ``compared`` fields are
    kept, one tuple per record, so 200,000 records stay small.

    Args:
        compared: the record fields findings compare (those the register maps).
    """

    __slots__ = ("_birth", "_by_id", "_compared", "_name_block", "_people", "_position", "_values")

    def __init__(self, compared: Iterable[str] = ()) -> None:
        self._compared = tuple(dict.fromkeys(compared))
        self._position = {key: i for i, key in enumerate(self._compared)}
        self._people: list[_Person] = []
        self._values: list[tuple[Value | None, ...]] = []
        self._by_id: dict[str, int] = {}
        self._birth: dict[str, list[int]] = {}
        self._name_block: dict[tuple[str, str], list[int]] = {}

    @classmethod
    def build(
        cls, records: Iterable[tuple[str, Mapping[str, object]]], *, compared: Iterable[str] = ()
    ) -> RecordIndex:
        """Index ``(record_id, values)`` pairs (canonical values, as the hub stores them)."""
        index = cls(compared)
        for record_id, values in records:
            index.add(record_id, values)
        return index

    def add(self, record_id: str, values: Mapping[str, object]) -> int:
        """Add one record; returns its slot. A second record with one ID number is not indexed
        under that number (the merge reports such duplicates)."""
        slot = len(self._people)
        id_number = _text(values.get(_ID))
        name = _text(values.get(_NAME))
        name = normalise_name(name) if name else None
        birth = _text(values.get(_BIRTH))
        division = _text(values.get(_DIVISION))
        self._people.append((record_id, id_number, name, birth, _text(values.get(_SEX)), division))
        self._values.append(tuple(_value(values.get(key)) for key in self._compared))
        if id_number is not None:
            self._by_id.setdefault(id_number, slot)
        if birth is not None:
            self._birth.setdefault(birth, []).append(slot)
        if name is not None and division is not None:
            self._name_block.setdefault((division[:_COUNTY], name), []).append(slot)
        return slot

    def __len__(self) -> int:
        return len(self._people)

    @property
    def compared(self) -> tuple[str, ...]:
        return self._compared

    def slot_of(self, id_number: str) -> int | None:
        return self._by_id.get(id_number)

    def record_id(self, slot: int) -> str:
        return self._people[slot][0]

    def id_number(self, slot: int) -> str | None:
        return self._people[slot][1]

    def division_code(self, slot: int) -> str | None:
        """The record's household registration division code, if filled."""
        return self._people[slot][5]

    def value(self, slot: int, key: str) -> Value | None:
        """The record's value of a compared field (``None`` when not filled or not kept)."""
        position = self._position.get(key)
        return None if position is None else self._values[slot][position]

    def slots(self) -> range:
        return range(len(self._people))

    def person(self, slot: int) -> _Person:
        """The record's matching keys: id, ID number, name, birth date, sex, division."""
        return self._people[slot]

    def candidates(self, row: RegisterRow, birth: str | None, config: MatchConfig) -> list[int]:
        """The slots in the row's block: same birth date, else same county and name."""
        division = row.division_code
        if birth is not None:
            found = self._birth.get(birth, [])
        elif row.name is not None and division is not None:
            found = self._name_block.get((division[:_COUNTY], row.name), [])
        else:
            return []
        if len(found) > config.max_block and division is not None:
            county = division[:_COUNTY]
            found = [s for s in found if (self._people[s][5] or "").startswith(county)]
        return found[: config.max_block]


def _value(value: object) -> Value | None:
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    if isinstance(value, str | bool | int | float | tuple):
        return value
    return None


def _row_birth(row: RegisterRow) -> str | None:
    if row.birth_date is not None:
        return row.birth_date
    bad = row.bad_id_number
    # A mistyped ID number usually keeps its birth-date digits: use them to find the block.
    if bad is not None and len(bad) == 18 and bad[6:14].isdigit():
        return f"{bad[6:10]}-{bad[10:12]}-{bad[12:14]}"
    return None


def _division_evidence(row_code: str | None, record_code: str | None) -> MatchReason | None:
    if row_code is None or record_code is None:
        return None
    if len(row_code) >= _TOWN and record_code[:_TOWN] == row_code[:_TOWN]:
        return MatchReason.TOWN_EQUAL
    if record_code[:_COUNTY] == row_code[:_COUNTY]:
        return MatchReason.COUNTY_EQUAL if len(row_code) > _COUNTY else MatchReason.TOWN_EQUAL
    return MatchReason.DIVISION_DIFFERS


def _score(
    row: RegisterRow, birth: str | None, person: _Person, config: MatchConfig
) -> tuple[float, tuple[MatchReason, ...]]:
    _record_id, id_number, name, record_birth, sex, division = person
    reasons: list[MatchReason] = []
    total = agree = 0.0
    similarity = Levenshtein.normalized_similarity(row.name or "", name or "")
    total += config.name_weight
    agree += config.name_weight * similarity
    if similarity == 1:
        reasons.append(MatchReason.NAME_EXACT)
    elif similarity > 0:
        reasons.append(MatchReason.NAME_SIMILAR)
    if birth is not None and record_birth is not None:
        total += config.birth_weight
        if birth == record_birth:
            agree += config.birth_weight
            reasons.append(MatchReason.BIRTH_DATE_EQUAL)
    if row.sex in _KNOWN_SEX and sex in _KNOWN_SEX:
        total += config.sex_weight
        if row.sex == sex:
            agree += config.sex_weight
            reasons.append(MatchReason.SEX_EQUAL)
        else:
            reasons.append(MatchReason.SEX_DIFFERS)
    evidence = _division_evidence(row.division_code, division)
    if evidence is not None:
        total += config.division_weight
        share = {MatchReason.TOWN_EQUAL: 1.0, MatchReason.COUNTY_EQUAL: 0.5}.get(evidence, 0.0)
        agree += config.division_weight * share
        reasons.append(evidence)
    score = agree / total
    bad = row.bad_id_number
    if (
        bad is not None
        and id_number is not None
        and Levenshtein.distance(bad.upper(), id_number, score_cutoff=_CLOSE_ID) <= _CLOSE_ID
    ):
        score = min(1.0, score + config.id_close_bonus)
        reasons.append(MatchReason.ID_NUMBER_CLOSE)
    return score, tuple(reasons)


def match_row(
    row: RegisterRow, index: RecordIndex, *, dataset_id: str, config: MatchConfig | None = None
) -> RowMatch:
    """Match one row: by its valid ID number, else by proposals from its block.

    A row with a valid ID number that no record holds gets no proposals: the
    number identifies the person, and that person was not collected.
    """
    if row.id_number is not None:
        return RowMatch(row=row, slot=index.slot_of(row.id_number))
    if row.name is None:
        return RowMatch(row=row)
    config = config or MatchConfig()
    birth = _row_birth(row)
    scored = []
    for slot in index.candidates(row, birth, config):
        score, reasons = _score(row, birth, index.person(slot), config)
        if score >= config.min_score:
            scored.append((score, index.record_id(slot), reasons))
    scored.sort(key=lambda item: (-item[0], item[1]))
    proposals = tuple(
        MatchProposal(
            dataset_id=dataset_id,
            row=row.row,
            record_id=record_id,
            score=round(score, 4),
            reasons=reasons,
        )
        for score, record_id, reasons in scored[: config.max_proposals]
    )
    return RowMatch(row=row, proposals=proposals)
