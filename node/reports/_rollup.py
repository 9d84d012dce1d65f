"""Summing counts up the region tree: each count goes to its region and every ancestor."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from typing import TypeVar

from node.reports.regions import RegionTree

K = TypeVar("K", bound=Hashable)


def roll_up(
    tree: RegionTree, cells: Iterable[tuple[str, K, int]]
) -> tuple[Counter[tuple[str, K]], Counter[K]]:
    """Return (region, key) → total over the region's subtree, and key → total outside the tree.

    A cell's region is placed with :meth:`RegionTree.locate`, so a town the tree
    does not list counts in its county.
    """
    totals: Counter[tuple[str, K]] = Counter()
    outside: Counter[K] = Counter()
    chains: dict[str, tuple[str, ...]] = {}
    for region, key, count in cells:
        chain = chains.get(region)
        if chain is None:
            home = tree.locate(region)
            chain = chains[region] = () if home is None else tree.ancestors(home)
        if not chain:
            outside[key] += count
        for code in chain:
            totals[code, key] += count
    return totals, outside
