"""Completeness: the share of required fields that are filled.

A record requires the fields the schema requires for its categories (and the
conditional ones whose condition holds). Completeness of a region is filled
required slots over required slots of all its records; of a field, records
that fill it over records that require it. Both are in [0, 1], and ``None``
when nothing is required (no records yet).
"""

from __future__ import annotations

from dataclasses import dataclass

from node.reports._rollup import roll_up
from node.reports.regions import RegionTree
from node.reports.tally import Tally
from protocol.schema import Schema

__all__ = [
    "Completeness",
    "FieldShare",
    "HeatRow",
    "RegionCompleteness",
    "compute_completeness",
    "share",
]


def share(required: int, missing: int) -> float | None:
    """Filled over required, or ``None`` when nothing is required."""
    return (required - missing) / required if required else None


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldShare:
    """How often one field is filled where it is required."""

    field: str
    label_zh: str
    label_en: str
    required: int
    missing: int

    @property
    def filled(self) -> int:
        """Records that fill the field."""
        return self.required - self.missing

    @property
    def share(self) -> float | None:
        """Filled over required."""
        return share(self.required, self.missing)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionCompleteness:
    """Completeness of one region over all its records and required fields."""

    code: str
    name: str
    parent: str | None
    depth: int
    required: int
    missing: int

    @property
    def share(self) -> float | None:
        """Filled required slots over required slots."""
        return share(self.required, self.missing)


@dataclass(frozen=True, slots=True, kw_only=True)
class HeatRow:
    """One child region's share per heat-table field (``None`` where nothing is required)."""

    code: str
    name: str
    cells: tuple[float | None, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Completeness:
    """Completeness per region (depth first), per field, and as a region × field table.

    Attributes:
        fields: every field some record requires, over the whole tree, in form
            order; they are also the heat table's columns.
        heat: one row per child of the root (or the root alone when it has none).
    """

    regions: tuple[RegionCompleteness, ...]
    fields: tuple[FieldShare, ...]
    heat: tuple[HeatRow, ...]

    @property
    def root(self) -> RegionCompleteness:
        """The hub's own region."""
        return self.regions[0]

    def most_missing(self, count: int = 10) -> tuple[FieldShare, ...]:
        """The ``count`` fields most often left empty (ties: lower share, then form order)."""
        ranked = sorted(
            (f for f in self.fields if f.missing),
            key=lambda f: (-f.missing, f.share if f.share is not None else 1.0),
        )
        return tuple(ranked[:count])


def compute_completeness(tree: RegionTree, tally: Tally, schema: Schema) -> Completeness:
    """Compute completeness per region, per field and per child region × field."""
    required, _ = roll_up(tree, ((c.region, c.field, c.required) for c in tally.fields))
    missing, _ = roll_up(tree, ((c.region, c.field, c.missing) for c in tally.fields))
    field_keys = sorted({c.field for c in tally.fields}, key=schema.position)
    root = tree.root.code
    fields = tuple(
        FieldShare(
            field=key,
            label_zh=schema.field(key).label_zh if schema.has_field(key) else key,
            label_en=schema.field(key).label_en if schema.has_field(key) else key,
            required=required[root, key],
            missing=missing[root, key],
        )
        for key in field_keys
        if required[root, key]
    )
    regions = tuple(
        RegionCompleteness(
            code=r.code,
            name=r.name,
            parent=r.parent,
            depth=tree.depth(r.code),
            required=sum(required[r.code, k] for k in field_keys),
            missing=sum(missing[r.code, k] for k in field_keys),
        )
        for r in tree.regions
    )
    rows = tree.children(root) or (tree.root,)
    heat = tuple(
        HeatRow(
            code=r.code,
            name=r.name,
            cells=tuple(share(required[r.code, f.field], missing[r.code, f.field]) for f in fields),
        )
        for r in rows
    )
    return Completeness(regions=regions, fields=fields, heat=heat)
