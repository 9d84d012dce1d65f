"""The read model refuses inconsistent values with a typed error that says what was expected."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import date

import pytest

from node.reports import (
    Campaign,
    Expectations,
    ExpectedCount,
    ItemState,
    NarrativeError,
    Phase,
    PhaseKind,
    QualityItem,
    QualityKind,
    Region,
    RegionError,
    RegionTree,
    ReportModelError,
    Stage,
    build_report,
    compute_progress,
    parse_period,
    record_facts,
    regions_from_divisions,
    tally_records,
)
from protocol.divisions import Divisions
from protocol.sample import realistic_record
from protocol.schema import Schema
from tests.node.reports.data import EXPECTATIONS, RECORDS, TODAY, TREE, source

DAY = date(2025, 6, 1)


def _raises(message: str) -> pytest.RaisesExc[ReportModelError]:
    return pytest.raises(ReportModelError, match=re.escape(message))


# --- regions -------------------------------------------------------------------


def test_tree_is_kept_depth_first_whatever_the_order_given() -> None:
    shuffled = RegionTree(regions=tuple(reversed(TREE.regions)))
    assert [r.code for r in shuffled.regions] == [r.code for r in TREE.regions]
    assert shuffled.root.code == "370100"


def test_tree_locates_codes_in_the_deepest_region() -> None:
    assert TREE.locate("370102001") == "370102001"
    assert TREE.locate("370102001203") == "370102001"  # a village in a listed town
    assert TREE.locate("370103002") == "370103"  # an unlisted town: its county
    assert TREE.locate("370105") == "370100"  # an unlisted county: the city
    assert TREE.locate("370200001") is None  # another city
    assert TREE.locate("37010200x") is None
    assert TREE.ancestors("370102002") == ("370102002", "370102", "370100")
    assert [r.code for r in TREE.subtree("370102")] == ["370102", "370102001", "370102002"]


def test_tree_with_two_roots_is_refused() -> None:
    with _raises("region tree: expected one root, saw 2"):
        RegionTree(
            regions=(Region(code="370100", name="济南市"), Region(code="370200", name="青岛市"))
        )


def test_tree_with_a_code_twice_is_refused() -> None:
    with _raises("region tree: 370102 appears twice"):
        RegionTree(regions=(*TREE.regions, Region(code="370102", name="历下区", parent="370100")))


def test_tree_with_a_missing_parent_is_refused() -> None:
    with _raises("region tree: 370104001 has no parent in the tree"):
        RegionTree(regions=(*TREE.regions, Region(code="370104001", name="x", parent="370104")))


def test_tree_with_a_child_outside_its_parent_is_refused() -> None:
    with _raises("region tree: 370202 lies outside its parent 370100"):
        RegionTree(regions=(*TREE.regions, Region(code="370202", name="市南区", parent="370100")))


def test_region_with_a_padded_code_is_refused() -> None:
    with _raises("region 370102000: expected a canonical 6- or 9-digit code"):
        Region(code="370102000", name="历下区")


def test_region_with_a_malformed_code_is_refused() -> None:
    with _raises("region: division code: expected 6, 9 or 12 digits, saw 5 characters"):
        Region(code="37010", name="x")


def test_unknown_region_is_a_region_error() -> None:
    with pytest.raises(RegionError, match="region 370200: expected a region inside 370100"):
        TREE.get("370200")


def test_tree_from_the_division_table() -> None:
    tree = regions_from_divisions(
        "370100", {"370102001": "解放路街道", "370112001": "山大路街道"}, Divisions.default()
    )
    assert tree.root.name == "济南市"
    assert tree.get("370102").name == "历下区"
    assert tree.get("370102001").parent == "370102"
    assert {r.code for r in tree.children("370100")} >= {"370102", "370103", "370112"}
    assert tree.is_leaf("370103")


def test_tree_from_the_division_table_refuses_a_town_outside() -> None:
    with _raises("region tree: town 370202001 is not inside 370100"):
        regions_from_divisions("370100", {"370202001": "x"}, Divisions.default())


def test_a_town_node_names_its_own_root() -> None:
    tree = regions_from_divisions("370102001", {}, Divisions.default(), root_name="解放路街道")
    assert [r.code for r in tree.regions] == ["370102001"]


# --- expectations, records, items, phases -----------------------------------------


def test_negative_expected_count_is_refused() -> None:
    with _raises("expected count of 370102001: expected a whole number >= 0, saw -1"):
        ExpectedCount(region="370102001", category=None, count=-1)


def test_baseline_with_a_count_twice_is_refused() -> None:
    count = ExpectedCount(region="370102001", category=None, count=1)
    with _raises("baseline: expected one count per region and category, saw 370102001 twice"):
        Expectations(baseline=(count, count))


def test_expected_count_on_a_district_is_refused() -> None:
    district = Expectations(baseline=(ExpectedCount(region="370102", category=None, count=5),))
    with _raises("expected count: expected a leaf region of the tree, saw 370102"):
        compute_progress(TREE, district, tally_records(()), Schema.default(), today=TODAY)


def test_expected_count_of_an_unknown_category_is_refused() -> None:
    bad = Expectations(baseline=(ExpectedCount(region="370102001", category="pirate", count=5),))
    with _raises("expected count: unknown category"):
        compute_progress(TREE, bad, tally_records(()), Schema.default(), today=TODAY)


def test_zero_day_window_is_refused() -> None:
    with _raises("progress window: expected at least 1 day, saw 0"):
        compute_progress(
            TREE, EXPECTATIONS, tally_records(RECORDS), Schema.default(), today=TODAY, window_days=0
        )


def test_record_facts_with_missing_fields_not_required_are_refused() -> None:
    with _raises("record facts: expected missing fields among required ones"):
        replace(RECORDS[0], missing=frozenset({"bank_account"}))


def test_record_facts_with_unsorted_categories_are_refused() -> None:
    with _raises("record facts: expected sorted, distinct categories"):
        replace(RECORDS[0], categories=("retired_soldier", "disabled_soldier"))


def test_open_item_with_a_closing_day_is_refused() -> None:
    with _raises("quality item: expected a closing day exactly when closed, state open"):
        QualityItem(
            kind=QualityKind.CONFLICT,
            state=ItemState.OPEN,
            region="370102001",
            opened_on=DAY,
            closed_on=DAY,
        )


def test_item_closed_before_it_opened_is_refused() -> None:
    with _raises("quality item: expected closed_on on or after opened_on"):
        QualityItem(
            kind=QualityKind.CONFLICT,
            state=ItemState.RESOLVED,
            region="370102001",
            opened_on=DAY,
            closed_on=date(2025, 5, 31),
        )


def test_finding_without_its_kind_is_refused() -> None:
    with _raises("quality item: expected a finding kind with findings only, kind finding"):
        QualityItem(
            kind=QualityKind.FINDING, state=ItemState.OPEN, region="370102001", opened_on=DAY
        )


def test_phase_ending_before_it_starts_is_refused() -> None:
    with _raises("phase 2: expected its deadline after start"):
        Phase(kind=PhaseKind.CROSS_CHECK, starts=DAY, deadline=date(2025, 5, 1))


def test_campaign_with_phases_out_of_order_is_refused() -> None:
    one = Phase(kind=PhaseKind.COLLECTION, starts=DAY, deadline=DAY)
    two = Phase(kind=PhaseKind.CROSS_CHECK, starts=DAY, deadline=DAY)
    with _raises("campaign: expected phases 1 and 2 once each, saw [2, 1]"):
        Campaign(phases=(two, one))
    assert Campaign(phases=(one, two)).current(DAY) is two


# --- record facts from real records ----------------------------------------------


def test_facts_of_a_complete_record() -> None:
    values = realistic_record(
        random.Random(7), category="retired_soldier", division_code="370102", today=TODAY
    )
    facts = record_facts(values, Schema.default(), stage=Stage.MERGED)
    hukou = values["hukou_division_code"]
    assert isinstance(hukou, str)
    assert facts.region == hukou[:9]
    assert facts.categories == ("retired_soldier",)
    assert facts.collected_on == date.fromisoformat(str(values["collect_date"]))
    assert facts.missing == frozenset()
    assert "id_number" in facts.required
    assert len(facts.required) == 30  # the 30 required fields of a retired soldier


def test_facts_of_a_record_with_blank_fields() -> None:
    values = realistic_record(
        random.Random(8), category="martyr_survivor", division_code="370103", today=TODAY
    )
    values |= {"phone": "", "death_date": None, "hardship_type": ()}
    values.pop("portrait_photo")
    facts = record_facts(values, Schema.default(), stage=Stage.COLLECTED)
    # hardship_type is optional, so an empty one is not missing
    assert facts.missing == frozenset({"phone", "death_date", "portrait_photo"})


def test_conditional_requirement_counts_when_its_condition_holds() -> None:
    values = realistic_record(
        random.Random(9), category="retired_soldier", division_code="370102", today=TODAY
    )
    values |= {"informant_is_self": False, "informant_name": None}
    facts = record_facts(values, Schema.default(), stage=Stage.COLLECTED)
    assert "informant_name" in facts.missing


def test_facts_of_a_record_without_categories_are_refused() -> None:
    with _raises("record facts: expected a list of categories"):
        record_facts({"collect_date": "2025-06-01"}, Schema.default(), stage=Stage.COLLECTED)


def test_facts_of_a_record_with_an_unknown_category_are_refused() -> None:
    with _raises("record facts: expected known categories"):
        record_facts({"subject_category": ["pirate"]}, Schema.default(), stage=Stage.COLLECTED)


def test_facts_of_a_record_without_a_place_are_refused() -> None:
    values = {"subject_category": ["retired_soldier"], "collect_date": "2025-06-01"}
    with _raises("record facts: expected a household or collection-point code"):
        record_facts(values, Schema.default(), stage=Stage.COLLECTED)


def test_facts_of_a_record_without_a_collection_date_are_refused() -> None:
    values = {"subject_category": ["retired_soldier"], "hukou_division_code": "370102001"}
    with _raises("record facts: expected collect_date as a date"):
        record_facts(values, Schema.default(), stage=Stage.COLLECTED)


# --- narrative and period -----------------------------------------------------------


def test_narrative_too_long_is_refused() -> None:
    with pytest.raises(
        NarrativeError, match="narrative: expected at most 20000 characters, saw 20001"
    ):
        build_report(source(), parse_period("2025-06"), "字" * 20_001, today=TODAY)


def test_narrative_with_control_characters_is_refused() -> None:
    with pytest.raises(
        NarrativeError, match="narrative: expected text, saw a control character at 2"
    ):
        build_report(source(), parse_period("2025-06"), "ab\x00c", today=TODAY)


def test_narrative_line_ends_are_normalised() -> None:
    report = build_report(source(), parse_period("2025-06"), "  一\r\n二\r三 \n", today=TODAY)
    assert report.narrative == "一\n二\n三"
