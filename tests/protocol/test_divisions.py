"""Division codes: levels, jurisdictions, parents, the packaged table, node ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import UsageError
from protocol.divisions import (
    Divisions,
    Level,
    NodeId,
    Status,
    contains,
    jurisdiction_prefix,
    level_of,
    parent_code,
    parse_node_id,
)
from protocol.errors import DivisionCodeError

from .strategies import county_codes, town_codes


@pytest.mark.parametrize(
    ("code", "level", "prefix"),
    [
        ("370000", Level.PROVINCE, "37"),
        ("370100", Level.CITY, "3701"),
        ("370102", Level.COUNTY, "370102"),
        ("370102001", Level.TOWN, "370102001"),
        ("370102001002", Level.VILLAGE, "370102001002"),
        # NBS 12-digit codes pad higher levels with 000 groups.
        ("370102001000", Level.TOWN, "370102001"),
        ("370102000000", Level.COUNTY, "370102"),
        ("370000000000", Level.PROVINCE, "37"),
    ],
)
def test_level_and_jurisdiction_come_from_the_significant_digits(
    code: str, level: Level, prefix: str
) -> None:
    assert level_of(code) == level
    assert jurisdiction_prefix(code) == prefix


@pytest.mark.parametrize(
    "code", ["", "37", "3701020", "37010200100", "37010a", "003701", "３７０１０２"]
)
def test_malformed_codes_are_refused_with_their_length(code: str) -> None:
    with pytest.raises(DivisionCodeError, match="expected 6, 9 or 12 digits") as caught:
        level_of(code)
    assert str(len(code)) in caught.value.message


@pytest.mark.parametrize(
    ("outer", "inner", "inside"),
    [
        ("370000", "370102001", True),
        ("370100", "370102", True),
        ("370100", "370100", True),
        ("370102", "370102001002", True),
        ("370102001", "370102001002", True),
        ("370102001", "370102002", False),
        ("370100", "370200", False),
        ("370102", "370100", False),
        ("110000", "110101", True),
    ],
)
def test_contains_is_prefix_inclusion_of_jurisdictions(
    outer: str, inner: str, inside: bool
) -> None:
    assert contains(outer, inner) is inside


@pytest.mark.parametrize(
    ("code", "parent"),
    [
        ("370102001002", "370102001"),
        ("370102001", "370102"),
        ("370102", "370100"),
        ("370100", "370000"),
        ("370000", None),
        # Municipalities: districts sit directly under the province-level code.
        ("110101", "110000"),
        ("500229", "500000"),
        ("110100", "110000"),
        # County-level units administered by the province (the 90 group).
        ("429004", "420000"),
        ("469001", "460000"),
        # A city without districts has towns directly below it (东莞).
        ("441900003", "441900"),
    ],
)
def test_parent_code_climbs_one_level(code: str, parent: str | None) -> None:
    assert parent_code(code) == parent


@given(town_codes())
def test_every_ancestor_contains_the_code(code: str) -> None:
    parent = parent_code(code)
    while parent is not None:
        assert contains(parent, code)
        parent = parent_code(parent)


def test_the_packaged_table_names_current_and_historical_codes() -> None:
    table = Divisions.default()
    assert table is Divisions.default()
    assert len(table) > 6576  # GB/T 2260 1980-2019 plus the newer Shandong codes
    assert table.name("370102") == "历下区"
    assert table.name("370102001") is None
    assert table.name("370102000000") == "历下区"
    assert table.is_current("370102")
    assert table.is_known("110103")  # 崇文区, merged away in 2010
    assert not table.is_current("110103")


def test_the_shandong_sample_updates_the_2019_table() -> None:
    table = Divisions.default()
    # 莱芜市 was merged into 济南 in 2019: historical, still valid inside ID numbers.
    assert table.status("371200") is Status.HISTORICAL
    assert table.is_known("371200")
    # Its successor 莱芜区 is newer than the national table.
    assert table.is_current("370116")
    assert table.name("370116") == "莱芜区"
    assert table.status("370176") is Status.STATISTICS_ONLY


def test_children_list_current_codes_under_a_division() -> None:
    table = Divisions.default()
    assert "370102" in table.children("370100")
    assert "370116" in table.children("370100")
    assert "110101" in table.children("110000")
    assert "429004" in table.children("420000")
    assert "371200" not in table.children("370000")
    assert "371200" in table.children("370000", include_historical=True)
    assert table.children("370102001") == ()


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("370102", True),
        ("370102001", True),
        ("370102101", True),
        ("370102599", True),
        ("370102600", False),  # beyond the GB/T 10114 ranges
        ("370102000", True),  # the county itself, padded
        ("370102001001", True),
        ("370102001399", True),
        ("370102001400", False),  # beyond the NBS village ranges
        ("370102000001", False),  # a village needs a town
        ("990102001", False),  # unknown county
        ("37010200", False),
    ],
)
def test_town_and_village_codes_are_checked_by_county_and_ranges(code: str, valid: bool) -> None:
    assert Divisions.default().is_valid(code) is valid


def test_a_newer_official_list_lays_over_the_packaged_table() -> None:
    newer = "code,name_zh\n370000,山东省\n370100,济南市\n370102,历下区\n370199,新设区\n"
    table = Divisions.from_csv_text(newer, base=Divisions.default())
    assert table.is_current("370199")
    assert table.name("370199") == "新设区"
    # A code the newer list leaves out becomes historical, not unknown.
    assert table.is_known("370103")
    assert not table.is_current("370103")


def test_a_list_on_its_own_knows_only_its_codes() -> None:
    table = Divisions.from_csv_text(
        "code,name_zh,status\n370102,历下区,current\n370103,市中区,abolished\n"
    )
    assert len(table) == 2
    assert table.is_current("370102")
    assert table.status("370103") is Status.HISTORICAL
    assert not table.is_known("370100")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code\n370102\n", "expected columns code and name_zh"),
        ("code,name_zh\n37010,历下区\n", "line 2: expected a six-digit code and a name"),
        ("code,name_zh\n370102,\n", "line 2: expected a six-digit code and a name"),
        ("code,name_zh,status\n370102,历下区,gone\n", "expected status current, abolished"),
    ],
)
def test_a_bad_division_list_is_refused(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Divisions.from_csv_text(text)


@pytest.mark.parametrize(
    ("text", "site", "machine"),
    [("370102001-01", "370102001", 1), ("370100", "370100", 0), ("370102-12", "370102", 12)],
)
def test_node_ids_round_trip(text: str, site: str, machine: int) -> None:
    node = parse_node_id(text)
    assert (node.site_code, node.machine) == (site, machine)
    assert str(node) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("370102001-1", "expected a 6- or 9-digit site code"),
        ("3701020-01", "expected a 6- or 9-digit site code"),
        ("370102001-00", "expected machine 01..99, saw 00"),
        ("", "saw 0 characters"),
        ("000102", "expected 6, 9 or 12 digits"),
    ],
)
def test_malformed_node_ids_are_refused(text: str, message: str) -> None:
    with pytest.raises(DivisionCodeError, match=message):
        parse_node_id(text)


def test_a_node_id_cannot_be_built_with_a_bad_machine() -> None:
    with pytest.raises(DivisionCodeError, match=r"expected machine 0\.\.99, saw 100"):
        NodeId(site_code="370102", machine=100)


@given(st.one_of(county_codes(), town_codes()), st.integers(0, 99))
def test_any_node_id_prints_and_parses_back(site: str, machine: int) -> None:
    node = NodeId(site_code=site, machine=machine)
    assert parse_node_id(str(node)) == node
