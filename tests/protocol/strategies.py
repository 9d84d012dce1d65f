"""Hypothesis strategies for schema values and records, shared by the protocol tests.

Import what you need::

    from tests.protocol.strategies import valid_records, field_values

Every strategy draws canonical values only (docs/schema.md §3); records drawn
by :func:`valid_records` pass :func:`protocol.validation.validate_record` with
``today=TODAY`` and the packaged division table.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from hypothesis import strategies as st

from protocol.divisions import Divisions, Status
from protocol.idnumber import make_id_number
from protocol.sample import realistic_record
from protocol.schema import FieldDef, FieldType, Schema, TextFormat
from protocol.values import normalise_text

__all__ = [
    "TODAY",
    "blob_refs",
    "canonical_dates",
    "canonical_texts",
    "category_keys",
    "county_codes",
    "field_values",
    "id_numbers",
    "town_codes",
    "valid_records",
]

#: The "today" every generated record is valid on.
TODAY: Final = date(2025, 6, 30)

_COUNTIES: Final = tuple(
    code
    for code in Divisions.default().codes()
    if len(code) == 6
    and not code.endswith("00")
    and Divisions.default().status(code) is Status.CURRENT
)


def county_codes() -> st.SearchStrategy[str]:
    """Current county-level division codes from the packaged table."""
    return st.sampled_from(_COUNTIES)


def town_codes() -> st.SearchStrategy[str]:
    """Nine-digit town codes (a current county plus digits in the GB/T 10114 ranges)."""
    return st.builds(
        lambda county, town: f"{county}{town:03d}", county_codes(), st.integers(1, 599)
    )


def category_keys() -> st.SearchStrategy[str]:
    """Keys of the packaged subject categories."""
    return st.sampled_from([c.key for c in Schema.default().categories])


def canonical_dates(
    min_value: date = date(1900, 1, 1), max_value: date = TODAY
) -> st.SearchStrategy[str]:
    """Dates in the canonical ``YYYY-MM-DD`` form."""
    return st.dates(min_value=min_value, max_value=max_value).map(date.isoformat)


def canonical_texts(max_size: int = 30) -> st.SearchStrategy[str]:
    """Non-empty, stripped, NFC-normalised text (Chinese, Latin and digits)."""
    alphabet = st.characters(
        categories=("Lo", "Lu", "Ll", "Nd"), max_codepoint=0x9FFF, exclude_characters="\u0345"
    )
    return st.text(alphabet, min_size=1, max_size=max_size).map(normalise_text).filter(bool)


def blob_refs() -> st.SearchStrategy[str]:
    """Photo values: ``b2:`` and 64 lowercase hex digits."""
    return st.binary(min_size=32, max_size=32).map(lambda b: "b2:" + b.hex())


def id_numbers(
    *, born: st.SearchStrategy[date] | None = None, sex: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[str]:
    """Valid 18-character ID numbers from current counties."""
    return st.builds(
        make_id_number,
        county_codes(),
        born or st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
        st.integers(0, 99),
        sex or st.sampled_from("12"),
    )


def _choices(field: FieldDef) -> st.SearchStrategy[object]:
    values = [c.value for c in field.allowed]
    if not field.multi:
        return st.sampled_from(values)
    plain = [c.value for c in field.allowed if not c.exclusive]
    return st.lists(st.sampled_from(plain), min_size=1, max_size=4, unique=True).map(
        lambda items: tuple(sorted(items))
    )


def field_values(field: FieldDef) -> st.SearchStrategy[object]:
    """Canonical values of one field, valid on their own (no cross-field rules)."""
    kind = field.type
    if kind is FieldType.TEXT:
        if field.text_format is TextFormat.ID_NUMBER:
            return id_numbers()
        if field.text_format is TextFormat.CARD_EXPIRY:
            return st.one_of(
                st.just("长期"), st.dates(min_value=date(2000, 1, 1)).map(lambda d: f"{d:%Y%m%d}")
            )
        return canonical_texts()
    if kind is FieldType.DATE:
        return canonical_dates()
    if kind is FieldType.BOOL:
        return st.booleans()
    if kind is FieldType.PHOTO:
        refs = blob_refs()
        return (
            st.lists(refs, min_size=1, max_size=3, unique=True).map(
                lambda items: tuple(sorted(items))
            )
            if field.multi
            else refs
        )
    if kind is FieldType.NUMBER:
        low = int(field.minimum) if field.minimum is not None else -(10**6)
        high = int(field.maximum) if field.maximum is not None else 10**6
        whole = st.integers(low, high)
        if field.integer:
            return whole
        return st.one_of(whole, st.floats(low, high, allow_nan=False, allow_infinity=False))
    if field.division_lengths:
        lengths = field.division_lengths
        return st.builds(
            lambda town, village, n: (town + f"{village:03d}")[:n] if n > 6 else town[:6],
            town_codes(),
            st.integers(1, 399),
            st.sampled_from(lengths),
        )
    return _choices(field)


@st.composite
def valid_records(
    draw: st.DrawFn, category: str | None = None, *, today: date = TODAY
) -> dict[str, object]:
    """Realistic valid records of one category (drawn when not given).

    Built by :func:`protocol.sample.realistic_record` from a ``Random`` seeded by
    Hypothesis, so failures replay; they do not shrink field by field.
    """
    key = category or draw(category_keys(), label="category")
    rng = draw(st.randoms(use_true_random=True), label="rng")
    division = draw(st.one_of(county_codes(), town_codes()), label="division")
    return realistic_record(rng, category=key, division_code=division, today=today)
