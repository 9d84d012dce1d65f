"""One stored record reduced to the row the reports count: :class:`FactRules`.

:func:`node.reports.tally.record_facts` is the definition of what the reports
know of a record; this is the same reduction made fast enough to run over a
province's records (a few microseconds a record: the schema's plan of each
category set is worked out once) and lenient where a stored record may be
incomplete — a record merged with validation warnings may lack its categories,
its household code or its collection date, and it still counts as a person:

- no known category: counted in the people figures, in no category;
- no usable household or collection-point code: counted at the collecting
  node's own site (``fallback``);
- no readable collection date: counted in no day.

The result is a :class:`FactRow`, strings only, as ``report_facts`` stores it
(node/reports/storefacts.py): category keys, the conditional fields that apply
and the empty required fields are each joined with ``|`` in sorted order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final, NamedTuple

from crypto.errors import UsageError
from node.reports.tally import COLLECT_DATE_FIELD, HUKOU_FIELD, POINT_FIELD
from protocol.schema import CATEGORY_FIELD, Schema

__all__ = ["SEPARATOR", "FactRow", "FactRules", "Plan", "join_keys", "split_keys"]

#: Between the keys of a joined column (category and field keys never hold it).
SEPARATOR: Final = "|"


def join_keys(keys: object) -> str:
    """``a|b|c`` of the sorted, distinct keys (an empty text for none)."""
    return SEPARATOR.join(sorted(set(keys)))  # type: ignore[call-overload]


def split_keys(text: str | None) -> tuple[str, ...]:
    """The keys of a joined column."""
    return tuple(text.split(SEPARATOR)) if text else ()


class FactRow(NamedTuple):
    """What ``report_facts`` holds of one live record (no name, no ID number)."""

    record_id: str
    site: str
    region: str
    categories: str
    collected_on: date | None
    extra: str
    missing: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The required fields of one set of categories, worked out once.

    Attributes:
        required: the fields every such person must fill.
        conditional: ``(field, rule field, rule value)`` for fields required
            only when another field holds a value.
    """

    required: tuple[str, ...]
    conditional: tuple[tuple[str, str, object], ...]


def _day(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _region(values: Mapping[str, object], fallback: str) -> str:
    for key in (HUKOU_FIELD, POINT_FIELD):
        code = values.get(key)
        if isinstance(code, str) and code:
            if len(code) in (6, 9, 12) and code.isascii() and code.isdigit():
                return code[:9] if len(code) == 12 else code
            return fallback
    return fallback


class FactRules:
    """Reduces canonical record values to :class:`FactRow` under one schema.

    Agrees with :func:`~node.reports.tally.record_facts` on every record that
    function accepts (a property test holds it to that).
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._plans: dict[tuple[str, ...], Plan] = {}
        self._keys: dict[object, str | None] = {}

    def _key(self, raw: object) -> str | None:
        try:
            return self._keys[raw]
        except KeyError:
            pass
        except TypeError:
            return None  # unhashable: not a category
        try:
            key: str | None = self.schema.category(str(raw)).key
        except UsageError:
            key = None
        if len(self._keys) < 4096:
            self._keys[raw] = key
        return key

    def categories(self, values: Mapping[str, object]) -> tuple[str, ...]:
        """The known category keys of a record, sorted and distinct."""
        raw = values.get(CATEGORY_FIELD)
        if not isinstance(raw, list | tuple):
            return ()
        return tuple(sorted({k for k in map(self._key, raw) if k is not None}))

    def plan(self, categories: tuple[str, ...]) -> Plan:
        """The required and conditional fields of a set of category keys."""
        found = self._plans.get(categories)
        if found is None:
            applicable = self.schema.applicable(categories)
            found = Plan(
                required=tuple(sorted(applicable.required_keys)),
                conditional=tuple(
                    (f.key, f.required_when.field, f.required_when.value)
                    for f in applicable.conditional
                    if f.required_when is not None
                ),
            )
            self._plans[categories] = found
        return found

    def required(self, categories: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
        """Every required field of a record: its categories' plan and its conditional ones."""
        if not categories:
            return ()
        return (*self.plan(categories).required, *extra)

    def row(self, record_id: str, site: str, values: Mapping[str, object]) -> FactRow:
        """The facts of one live record collected at ``site``."""
        categories = self.categories(values)
        required: tuple[str, ...] = ()
        extra: list[str] = []
        if categories:
            plan = self.plan(categories)
            required = plan.required
            for key, field, wanted in plan.conditional:
                if values.get(field) == wanted:
                    extra.append(key)
        # Empty as record_facts has it: None, "", () or [] (inlined: a call per field
        # costs as much as the rest of the row).
        missing = [
            k
            for k in (*required, *extra)
            if (v := values.get(k)) is None or (isinstance(v, str | list | tuple) and not v)
        ]
        return FactRow(
            record_id=record_id,
            site=site,
            region=_region(values, site),
            categories=SEPARATOR.join(categories),
            collected_on=_day(values.get(COLLECT_DATE_FIELD)),
            extra=join_keys(extra),
            missing=join_keys(missing),
        )
