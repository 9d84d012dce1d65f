"""The demo's province as a value: which sites there are and which hub each one sends to.

A :class:`Province` is checked when it is built: exactly one hub has no parent (the
province hub, certified by the root); every other site's parent is a hub of the tree
whose jurisdiction contains the site; identifiers are unique. The launcher sets the
sites up parents first (:meth:`Province.in_setup_order`), because a site enrolls with
a parent that already runs.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from hub.demo.errors import TopologyError
from protocol.divisions import Level, contains, level_of, parse_node_id
from protocol.errors import DivisionCodeError

__all__ = ["Province", "Site", "SiteKind"]


class SiteKind(enum.StrEnum):
    """A hub (``muster hub run``) or a collection point's node (``muster node run``)."""

    HUB = "hub"
    NODE = "node"


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """One party of the tree.

    Attributes:
        ident: a hub's 6-digit division code (``370102``), or a node id (``370102001-01``).
        name: the office's display name.
        kind: hub or node.
        parent: the ident of the hub it sends to; None for the province hub.
    """

    ident: str
    name: str
    kind: SiteKind
    parent: str | None

    def __post_init__(self) -> None:
        try:
            if self.kind is SiteKind.HUB:
                if len(self.ident) != 6 or level_of(self.ident) is Level.TOWN:
                    raise TopologyError(f"hub {self.ident!r}: expected a 6-digit division code")
            elif parse_node_id(self.ident).site_code == self.ident:
                raise TopologyError(f"node {self.ident!r}: expected a node id like 370102001-01")
        except DivisionCodeError as exc:
            raise TopologyError(f"site {self.ident!r}: {exc.message}") from exc
        if not self.name.strip():
            raise TopologyError(f"site {self.ident}: expected a name")

    @property
    def code(self) -> str:
        """The site's division code (a node's site code without the machine number)."""
        if self.kind is SiteKind.HUB:
            return self.ident
        return parse_node_id(self.ident).site_code

    @property
    def is_hub(self) -> bool:
        return self.kind is SiteKind.HUB


@dataclass(frozen=True, slots=True, kw_only=True)
class Province:
    """The sites of a demo, checked as a tree (see the module docstring)."""

    sites: tuple[Site, ...]

    def __post_init__(self) -> None:
        idents = [s.ident for s in self.sites]
        if len(set(idents)) != len(idents):
            raise TopologyError("province: every site must appear once")
        roots = [s for s in self.sites if s.parent is None]
        if len(roots) != 1 or not roots[0].is_hub:
            raise TopologyError(f"province: expected one hub without a parent, got {len(roots)}")
        by_ident = {s.ident: s for s in self.sites}
        for site in self.sites:
            if site.parent is None:
                continue
            parent = by_ident.get(site.parent)
            if parent is None or not parent.is_hub:
                raise TopologyError(f"site {site.ident}: parent {site.parent} is not a hub here")
            if site.code == parent.code or not contains(parent.code, site.code):
                raise TopologyError(
                    f"site {site.ident}: outside the jurisdiction of its parent {parent.ident}"
                )

    @classmethod
    def demo(cls) -> Province:
        """The demo's province: Shandong, Jinan and Qingdao, three districts, six towns,
        and a second machine at the first town (the laptop that gets lost).

        The town names are real streets (街道) of those districts; their codes are
        illustrative.
        """
        hub, node = SiteKind.HUB, SiteKind.NODE
        return cls(
            sites=(
                Site(ident="370000", name="山东省退役军人事务厅", kind=hub, parent=None),
                Site(ident="370100", name="济南市退役军人事务局", kind=hub, parent="370000"),
                Site(ident="370200", name="青岛市退役军人事务局", kind=hub, parent="370000"),
                Site(ident="370102", name="历下区退役军人事务局", kind=hub, parent="370100"),
                Site(ident="370103", name="市中区退役军人事务局", kind=hub, parent="370100"),
                Site(ident="370202", name="市南区退役军人事务局", kind=hub, parent="370200"),
                Site(ident="370102001-01", name="解放路街道采集点", kind=node, parent="370102"),
                Site(ident="370102002-01", name="千佛山街道采集点", kind=node, parent="370102"),
                Site(ident="370103001-01", name="大观园街道采集点", kind=node, parent="370103"),
                Site(ident="370103002-01", name="杆石桥街道采集点", kind=node, parent="370103"),
                Site(ident="370202001-01", name="八大关街道采集点", kind=node, parent="370202"),
                Site(ident="370202002-01", name="香港中路街道采集点", kind=node, parent="370202"),
                Site(
                    ident="370102001-02",
                    name="解放路街道采集点（二号机）",
                    kind=node,
                    parent="370102",
                ),
            )
        )

    def site(self, ident: str) -> Site:
        """Raises:
        TopologyError: no such site.
        """
        for site in self.sites:
            if site.ident == ident:
                return site
        raise TopologyError(f"province: no site {ident}")

    @property
    def root(self) -> Site:
        return next(s for s in self.sites if s.parent is None)

    @property
    def hubs(self) -> tuple[Site, ...]:
        return tuple(s for s in self.sites if s.is_hub)

    @property
    def nodes(self) -> tuple[Site, ...]:
        return tuple(s for s in self.sites if not s.is_hub)

    def children(self, ident: str) -> tuple[Site, ...]:
        return tuple(s for s in self.sites if s.parent == ident)

    def ancestors(self, ident: str) -> tuple[Site, ...]:
        """The hubs above a site, nearest first."""
        found: list[Site] = []
        parent = self.site(ident).parent
        while parent is not None:
            site = self.site(parent)
            found.append(site)
            parent = site.parent
        return tuple(found)

    def city_of(self, ident: str) -> Site | None:
        """The city-level hub above (or at) a site; None for the province hub."""
        for site in (self.site(ident), *self.ancestors(ident)):
            if site.is_hub and level_of(site.code) is Level.CITY:
                return site
        return None

    def in_setup_order(self) -> Iterator[tuple[Site, ...]]:
        """Waves of sites, parents before children: the province, its children, and so on.

        Sites of one wave do not depend on each other and can be set up together.
        """
        wave: tuple[Site, ...] = (self.root,)
        while wave:
            yield wave
            wave = tuple(child for site in wave for child in self.children(site.ident))
