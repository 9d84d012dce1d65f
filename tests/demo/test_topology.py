"""The demo's Province is a tree of hubs and nodes, checked when it is built."""

from __future__ import annotations

import pytest

from hub.demo.errors import TopologyError
from hub.demo.topology import Province, Site, SiteKind

HUB, NODE = SiteKind.HUB, SiteKind.NODE


def _site(ident: str, parent: str | None, kind: SiteKind = HUB) -> Site:
    return Site(ident=ident, name=f"site {ident}", kind=kind, parent=parent)


def test_the_demo_province_is_a_province_two_cities_three_districts_and_seven_machines() -> None:
    province = Province.demo()
    assert province.root.ident == "370000"
    assert [s.ident for s in province.children("370000")] == ["370100", "370200"]
    assert len(province.hubs) == 6
    assert len([s for s in province.nodes if s.ident.endswith("-01")]) == 6
    assert [s.ident for s in province.nodes if not s.ident.endswith("-01")] == ["370102001-02"]


def test_setup_waves_put_every_parent_before_its_children() -> None:
    province = Province.demo()
    seen: set[str] = set()
    for wave in province.in_setup_order():
        for site in wave:
            assert site.parent is None or site.parent in seen
        seen.update(s.ident for s in wave)
    assert seen == {s.ident for s in province.sites}


def test_a_node_belongs_to_its_district_city_and_province() -> None:
    province = Province.demo()
    assert [s.ident for s in province.ancestors("370202001-01")] == ["370202", "370200", "370000"]
    city = province.city_of("370103002-01")
    assert city is not None
    assert city.ident == "370100"
    assert province.city_of("370000") is None
    assert province.site("370102001-02").code == "370102001"


def test_two_sites_with_one_ident_are_refused() -> None:
    with pytest.raises(TopologyError, match="every site must appear once"):
        Province(
            sites=(_site("370000", None), _site("370100", "370000"), _site("370100", "370000"))
        )


def test_a_province_needs_exactly_one_hub_without_a_parent() -> None:
    with pytest.raises(TopologyError, match="expected one hub without a parent, got 2"):
        Province(sites=(_site("370000", None), _site("370100", None)))
    with pytest.raises(TopologyError, match="expected one hub without a parent, got 0"):
        Province(sites=(_site("370100", "370000"),))


def test_a_parent_must_be_a_hub_of_the_tree() -> None:
    with pytest.raises(TopologyError, match="parent 370100 is not a hub here"):
        Province(sites=(_site("370000", None), _site("370102", "370100")))
    node = _site("370102001-01", "370000", NODE)
    with pytest.raises(TopologyError, match="parent 370102001-01 is not a hub here"):
        Province(sites=(_site("370000", None), node, _site("370102001-02", "370102001-01", NODE)))


def test_a_site_outside_its_parents_jurisdiction_is_refused() -> None:
    with pytest.raises(TopologyError, match="outside the jurisdiction of its parent 370100"):
        Province(
            sites=(_site("370000", None), _site("370100", "370000"), _site("370202", "370100"))
        )


def test_malformed_idents_are_refused_by_kind() -> None:
    with pytest.raises(TopologyError, match="expected a 6-digit division code"):
        _site("370102001", None)
    with pytest.raises(TopologyError, match="expected a node id like 370102001-01"):
        _site("370102", "370100", NODE)
    with pytest.raises(TopologyError, match="site 'x'"):
        _site("x", "370100", NODE)
    with pytest.raises(TopologyError, match="expected a name"):
        Site(ident="370000", name=" ", kind=HUB, parent=None)
