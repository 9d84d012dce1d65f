"""The hub's jurisdiction as a tree of regions, from its own code down to towns.

Codes are canonical: six digits for a county and above (``370100``), nine for a
town (``370102001``). The tree places any division code in the deepest region
that contains it (:meth:`RegionTree.locate`), so a record from a town the tree
does not list still counts in its county, and one from outside the
jurisdiction is told apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from node.reports.errors import RegionError, ReportModelError
from protocol.divisions import Divisions, Level, contains, level_of, parent_code
from protocol.errors import DivisionCodeError

__all__ = ["Region", "RegionTree", "regions_from_divisions"]

_TOWN_DIGITS = 9


@dataclass(frozen=True, slots=True, kw_only=True)
class Region:
    """One region of the tree.

    Attributes:
        code: the canonical division code (6 digits, or 9 for a town).
        name: the Chinese name.
        parent: the parent's code; ``None`` for the root.
    """

    code: str
    name: str
    parent: str | None = None

    def __post_init__(self) -> None:
        try:
            level = level_of(self.code)
        except DivisionCodeError as exc:
            raise ReportModelError(f"region: {exc.message}") from exc
        if len(self.code) != (9 if level is Level.TOWN else 6):
            raise ReportModelError(
                f"region {self.code[:12]}: expected a canonical 6- or 9-digit code"
            )
        if not self.name:
            raise ReportModelError(f"region {self.code}: expected a name")

    @property
    def level(self) -> Level:
        """Province, city, county or town."""
        return level_of(self.code)


def _candidates(code: str) -> tuple[str, ...]:
    """The canonical codes that could contain ``code``, most specific first."""
    digits = code[:9]
    found = [digits] if len(digits) == _TOWN_DIGITS and digits[6:] != "000" else []
    six = digits[:6]
    return (*found, six, six[:4] + "00", six[:2] + "0000")


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionTree:
    """A tree of regions; the root is the hub's (or node's) own division.

    ``regions`` may be given in any order; the tree keeps them depth first,
    children in code order.

    Raises:
        ReportModelError: on construction, if there is not exactly one root, a
            code appears twice, a parent is missing, or a child lies outside
            its parent's jurisdiction.
    """

    regions: tuple[Region, ...]
    _by_code: Mapping[str, Region] = field(init=False, repr=False, compare=False)
    _children: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code: dict[str, Region] = {}
        for region in self.regions:
            if region.code in by_code:
                raise ReportModelError(f"region tree: {region.code} appears twice")
            by_code[region.code] = region
        roots = [r for r in self.regions if r.parent is None]
        if len(roots) != 1:
            raise ReportModelError(f"region tree: expected one root, saw {len(roots)}")
        children: dict[str, list[str]] = {code: [] for code in by_code}
        for region in self.regions:
            if region.parent is None:
                continue
            if region.parent not in by_code:
                raise ReportModelError(f"region tree: {region.code} has no parent in the tree")
            if region.parent == region.code or not contains(region.parent, region.code):
                raise ReportModelError(
                    f"region tree: {region.code} lies outside its parent {region.parent}"
                )
            children[region.parent].append(region.code)
        ordered: list[Region] = []
        stack = [roots[0].code]
        while stack:
            code = stack.pop()
            ordered.append(by_code[code])
            stack.extend(sorted(children[code], reverse=True))
        if len(ordered) != len(by_code):
            raise ReportModelError("region tree: a parent cycle leaves regions unreachable")
        object.__setattr__(self, "regions", tuple(ordered))
        object.__setattr__(self, "_by_code", MappingProxyType(by_code))
        object.__setattr__(
            self, "_children", MappingProxyType({k: tuple(sorted(v)) for k, v in children.items()})
        )

    @property
    def root(self) -> Region:
        """The hub's own region."""
        return self.regions[0]

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __len__(self) -> int:
        return len(self.regions)

    def get(self, code: str) -> Region:
        """Return the region ``code``.

        Raises:
            RegionError: the tree has no such region.
        """
        try:
            return self._by_code[code]
        except KeyError:
            raise RegionError(
                f"region {code[:12]}: expected a region inside {self.root.code}"
            ) from None

    def children(self, code: str) -> tuple[Region, ...]:
        """Return the regions directly under ``code``, in code order.

        Raises:
            RegionError: the tree has no such region.
        """
        self.get(code)
        return tuple(self._by_code[c] for c in self._children[code])

    def is_leaf(self, code: str) -> bool:
        """Whether ``code`` has no region under it (raises :class:`RegionError` if unknown)."""
        return not self.children(code)

    def ancestors(self, code: str) -> tuple[str, ...]:
        """Return ``code`` and every region above it, up to the root."""
        found = []
        current: str | None = code
        while current is not None:
            found.append(current)
            current = self._by_code[current].parent
        return tuple(found)

    def depth(self, code: str) -> int:
        """0 for the root, 1 for its children, and so on."""
        return len(self.ancestors(code)) - 1

    def subtree(self, code: str) -> tuple[Region, ...]:
        """Return ``code`` and every region under it, depth first.

        Raises:
            RegionError: the tree has no such region.
        """
        start = self.regions.index(self.get(code))
        depth = self.depth(code)
        found = [self.regions[start]]
        for region in self.regions[start + 1 :]:
            if self.depth(region.code) <= depth:
                break
            found.append(region)
        return tuple(found)

    def locate(self, code: str) -> str | None:
        """Return the deepest region containing the division ``code``, or ``None`` if outside.

        ``code`` may be any 6-, 9- or 12-digit division code; a malformed one is
        outside.
        """
        if len(code) not in (6, 9, 12) or not (code.isascii() and code.isdigit()):
            return None
        for candidate in _candidates(code):
            if candidate in self._by_code:
                return candidate
        return None


def regions_from_divisions(
    root: str,
    towns: Mapping[str, str] | Iterable[tuple[str, str]],
    divisions: Divisions,
    *,
    root_name: str | None = None,
) -> RegionTree:
    """Build the tree of ``root``'s jurisdiction: listed divisions, then the given towns.

    Counties and above come from the division table (current codes only); towns
    are not listed there, so the hub passes the ones it knows (from baseline
    data or its sites) as code → name. A town's county is added, under its
    historical name, if the table no longer lists it as current. A town node
    (whose own code the table cannot name) passes ``root_name``.

    Raises:
        ReportModelError: ``root`` is malformed or unnamed, or a town is outside it.
    """
    root_name = root_name or divisions.name(root)
    if root_name is None:
        raise ReportModelError(f"region tree: {root[:12]} is not a listed division")
    regions: dict[str, Region] = {root: Region(code=root, name=root_name)}
    pending = [root]
    while pending:
        code = pending.pop()
        if len(code) == _TOWN_DIGITS:
            continue
        for child in divisions.children(code):
            regions[child] = Region(code=child, name=divisions.name(child) or child, parent=code)
            pending.append(child)
    pairs = towns.items() if isinstance(towns, Mapping) else towns
    for town, name in pairs:
        try:
            inside = len(town) == _TOWN_DIGITS and contains(root, town) and town != root
        except DivisionCodeError:
            inside = False
        if not inside:
            raise ReportModelError(f"region tree: town {town[:12]} is not inside {root}")
        county = town[:6]
        if county not in regions:
            _add_chain(regions, county, divisions)
        regions[town] = Region(code=town, name=name, parent=county)
    return RegionTree(regions=tuple(regions.values()))


def _add_chain(regions: dict[str, Region], code: str, divisions: Divisions) -> None:
    """Add ``code`` and any missing regions between it and the tree."""
    parent = parent_code(code)
    if parent is not None and parent not in regions:
        _add_chain(regions, parent, divisions)
    regions[code] = Region(code=code, name=divisions.name(code) or code, parent=parent)
