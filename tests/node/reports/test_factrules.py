"""FactRules (the fast reduction the hub's facts table is made with) agrees with
record_facts (the reports' definition) on every record that function accepts, and
counts incomplete records that it refuses."""

from __future__ import annotations

import random
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from node.reports.factrules import FactRules, split_keys
from node.reports.model import Stage
from node.reports.tally import record_facts
from protocol.sample import realistic_record
from protocol.schema import Schema

SCHEMA = Schema.default()
RULES = FactRules(SCHEMA)
TODAY = date(2026, 11, 29)
TOWNS = ("370102001", "370102", "370103002")


@given(
    seed=st.integers(0, 2**32 - 1),
    category=st.sampled_from(sorted(SCHEMA.category_keys)),
    town=st.sampled_from(TOWNS),
    blanks=st.sets(st.sampled_from(sorted(f.key for f in SCHEMA.fields)), max_size=8),
    empty=st.sampled_from((None, "", [])),
)
def test_rules_agree_with_record_facts(
    seed: int, category: str, town: str, blanks: set[str], empty: object
) -> None:
    values = realistic_record(random.Random(seed), category=category, division_code=town,
                              today=TODAY)  # fmt: skip
    for key in blanks - {"subject_category", "hukou_division_code", "collection_point_code",
                         "collect_date"}:  # fmt: skip
        values[key] = empty
    expected = record_facts(values, SCHEMA, stage=Stage.MERGED)
    row = RULES.row("r", "370102001", values)
    assert row.region == expected.region
    assert split_keys(row.categories) == expected.categories
    assert row.collected_on == expected.collected_on
    required = RULES.required(split_keys(row.categories), split_keys(row.extra))
    assert set(required) == expected.required
    assert set(split_keys(row.missing)) == expected.missing


def test_a_record_without_categories_or_codes_still_counts_at_its_site() -> None:
    values = {"subject_category": ["no_such_category"], "hukou_division_code": "37x",
              "collect_date": "not a day"}  # fmt: skip
    row = RULES.row("r", "370102001", values)
    assert (row.region, row.categories, row.collected_on) == ("370102001", "", None)
    assert (row.extra, row.missing) == ("", "")
    assert RULES.required((), ()) == ()


def test_a_county_household_code_counts_in_the_county() -> None:
    values = realistic_record(random.Random(1), category="retired_soldier",
                              division_code="370102001", today=TODAY)  # fmt: skip
    values["hukou_division_code"] = "370102"
    assert RULES.row("r", "370102001", values).region == "370102"
    values["hukou_division_code"] = ""
    assert RULES.row("r", "370102001", values).region == str(values["collection_point_code"])[:9]
