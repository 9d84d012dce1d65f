"""Records reduced to what the reports count: facts per record, then counts per town.

A hub can fill a :class:`Tally` straight from ``GROUP BY`` queries, or stream
its records through :func:`record_facts` and :func:`tally_records`; either way
no name, ID number or address goes further.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from crypto.errors import UsageError
from node.reports.errors import ReportModelError
from node.reports.model import Stage, check_count
from protocol.schema import CATEGORY_FIELD, Schema

__all__ = [
    "DayCount",
    "FieldCount",
    "RecordFacts",
    "StageCount",
    "Tally",
    "record_facts",
    "tally_records",
]

#: Where a record is counted: the person's household registration.
HUKOU_FIELD: Final = "hukou_division_code"
#: The fallback when a record has no household code yet: where it was collected.
POINT_FIELD: Final = "collection_point_code"
COLLECT_DATE_FIELD: Final = "collect_date"
_EMPTY: Final[tuple[object, ...]] = (None, "", (), [])


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordFacts:
    """What the reports know of one record.

    Attributes:
        region: the division code it counts in (household town, 9 digits, or
            a 6-digit county when only that is known).
        categories: the person's category keys, sorted.
        stage: how far the record has come.
        collected_on: the collection date.
        required: the required fields that apply to this person (conditional
            ones included when their condition holds).
        missing: those of them that are empty.
    """

    region: str
    categories: tuple[str, ...]
    stage: Stage
    collected_on: date
    required: frozenset[str]
    missing: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.categories or tuple(sorted(set(self.categories))) != self.categories:
            raise ReportModelError("record facts: expected sorted, distinct categories")
        if not self.missing <= self.required:
            raise ReportModelError("record facts: expected missing fields among required ones")


def _filled(value: object) -> bool:
    return not any(value is empty or value == empty for empty in _EMPTY)


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ReportModelError(f"record facts: expected {COLLECT_DATE_FIELD} as a date")


def record_facts(values: Mapping[str, object], schema: Schema, *, stage: Stage) -> RecordFacts:
    """Reduce a record's canonical values to its facts.

    Raises:
        ReportModelError: the record has no usable categories, no household or
            collection-point code, or no collection date (a stored record
            always has them: they are required and validated).
    """
    raw = values.get(CATEGORY_FIELD)
    if not isinstance(raw, list | tuple) or not raw:
        raise ReportModelError("record facts: expected a list of categories")
    try:
        keys = tuple(sorted({schema.category(str(c)).key for c in raw}))
    except UsageError as exc:
        raise ReportModelError("record facts: expected known categories") from exc
    region = values.get(HUKOU_FIELD) or values.get(POINT_FIELD)
    if not isinstance(region, str) or len(region) not in (6, 9, 12):
        raise ReportModelError("record facts: expected a household or collection-point code")
    plan = schema.applicable(keys)
    required = set(plan.required_keys)
    for conditional in plan.conditional:
        rule = conditional.required_when
        if rule is not None and values.get(rule.field) == rule.value:
            required.add(conditional.key)
    return RecordFacts(
        region=region[:9] if len(region) == 12 else region,
        categories=keys,
        stage=stage,
        collected_on=_as_date(values.get(COLLECT_DATE_FIELD)),
        required=frozenset(required),
        missing=frozenset(k for k in required if not _filled(values.get(k))),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class StageCount:
    """People in ``region`` at exactly ``stage`` (of ``category``, or of any when ``None``)."""

    region: str
    category: str | None
    stage: Stage
    count: int

    def __post_init__(self) -> None:
        check_count(self.count, f"stage count of {self.region}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DayCount:
    """People of ``region`` collected on ``day``."""

    region: str
    day: date
    count: int

    def __post_init__(self) -> None:
        check_count(self.count, f"day count of {self.region}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldCount:
    """Of the records in ``region`` that require ``field``, how many leave it empty."""

    region: str
    field: str
    required: int
    missing: int

    def __post_init__(self) -> None:
        check_count(self.required, f"field count of {self.region}")
        check_count(self.missing, f"field count of {self.region}")
        if self.missing > self.required:
            raise ReportModelError(
                f"field count of {self.region}: expected missing <= required, "
                f"saw {self.missing} > {self.required}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Tally:
    """Every count the reports need, per region as the records name it."""

    stages: tuple[StageCount, ...] = ()
    days: tuple[DayCount, ...] = ()
    fields: tuple[FieldCount, ...] = ()


def tally_records(records: Iterable[RecordFacts]) -> Tally:
    """Count records by region, category, stage, collection day and empty required field."""
    stages: Counter[tuple[str, str | None, Stage]] = Counter()
    days: Counter[tuple[str, date]] = Counter()
    required: Counter[tuple[str, str]] = Counter()
    missing: Counter[tuple[str, str]] = Counter()
    for record in records:
        stages[record.region, None, record.stage] += 1
        for category in record.categories:
            stages[record.region, category, record.stage] += 1
        days[record.region, record.collected_on] += 1
        required.update((record.region, f) for f in record.required)
        missing.update((record.region, f) for f in record.missing)
    return Tally(
        stages=tuple(
            StageCount(region=r, category=c, stage=s, count=n)
            for (r, c, s), n in sorted(stages.items(), key=lambda kv: _stage_key(kv[0]))
        ),
        days=tuple(DayCount(region=r, day=d, count=n) for (r, d), n in sorted(days.items())),
        fields=tuple(
            FieldCount(region=r, field=f, required=n, missing=missing[r, f])
            for (r, f), n in sorted(required.items())
        ),
    )


def _stage_key(key: tuple[str, str | None, Stage]) -> tuple[str, str, int]:
    region, category, stage = key
    return (region, category or "", stage.rank)
