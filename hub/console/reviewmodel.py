"""What a bundle's review page shows, built from what staging found (pure).

Staging stored its findings as items (``stage_items``): changed fields with the
old and new values, parallel updates, conflicts (the competing heads and their
values, winner first), duplicates (the other live records with the same ID
number) and validation warnings. New records are not items: they are the
bundle's ``create`` ops for records the store does not hold. :func:`build_review`
turns those, the bundle's ops for the records concerned, and the stored records
into the page's values; it reads no clock, store or file.

Values stay canonical here; the page shows them through the schema's labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from hub.console.reviewvalues import (
    Competitor,
    Conflict,
    Duplicate,
    FieldChange,
    Item,
    MergeCandidate,
    MergeField,
    NewRecord,
    RecordChanges,
    ReviewData,
    StoredRecord,
    WarningLine,
)
from protocol.hlc import Timestamp
from protocol.ops import STATUS_FIELD, Op, OpKind

__all__ = ["HIDDEN_FIELDS", "NEW_RECORDS_SHOWN", "build_review", "fold_values"]

#: Fields never compared or picked on the merge screen (the record's status is the merge).
HIDDEN_FIELDS: Final = frozenset({STATUS_FIELD})
#: New records listed on the page; the rest are counted.
NEW_RECORDS_SHOWN: Final = 100


def fold_values(ops: Iterable[Op]) -> dict[str, Any]:
    """A new record's values from its ops in a bundle: the create, then later sets."""
    values: dict[str, Any] = {}
    for op in ops:
        if op.kind is OpKind.CREATE:
            values.update(op.create_values())
        elif op.kind is OpKind.SET and op.field is not None:
            values[op.field] = op.value
    return values


def _moment(hlc: str | Timestamp | None) -> tuple[str | None, datetime | None]:
    if hlc is None:
        return None, None
    stamp = hlc if isinstance(hlc, Timestamp) else Timestamp.decode(hlc)
    return stamp.node, datetime.fromtimestamp(stamp.wall_ms / 1000, UTC)


def _competitors(
    item: Item,
    ops: Mapping[str, Op],
    stored: StoredRecord | None,
    authors: Mapping[str, str],
) -> tuple[Competitor, ...]:
    heads = [str(h) for h in item.data.get("heads", ())]
    values = list(item.data.get("values", ()))
    clocks = {op_id: hlc for hlc, op_id in stored.heads} if stored is not None else {}
    out = []
    for index, op_id in enumerate(heads):
        op = ops.get(op_id)
        node, at = _moment(op.hlc if op is not None else clocks.get(op_id))
        out.append(
            Competitor(
                index=index,
                op_id=op_id,
                value=values[index] if index < len(values) else None,
                node=node,
                author=op.author if op is not None else authors.get(op_id),
                at=at,
                in_bundle=op is not None,
            )
        )
    return tuple(out)


def _merge_fields(
    new: Mapping[str, Any], other: Mapping[str, Any], order: Callable[[str], int]
) -> tuple[MergeField, ...]:
    keys = sorted((set(new) | set(other)) - HIDDEN_FIELDS, key=lambda k: (order(k), k))
    return tuple(MergeField(field=k, new=new.get(k), other=other.get(k)) for k in keys)


def _unordered(_key: str) -> int:
    return 0


def _grouped(
    items: Sequence[Item], stored: Mapping[str, StoredRecord], new: Mapping[str, Mapping[str, Any]]
) -> tuple[RecordChanges, ...]:
    by_record: dict[str, list[FieldChange]] = {}
    for item in items:
        by_record.setdefault(item.record_id, []).append(
            FieldChange(
                field=item.field or "",
                old=item.data.get("old"),
                new=item.data.get("new"),
                needs_review=bool(item.data.get("needs_review")),
            )
        )
    return tuple(
        RecordChanges(
            record_id=rid,
            name=_value(rid, "name", stored, new),
            id_number=_value(rid, "id_number", stored, new),
            changes=tuple(changes),
        )
        for rid, changes in by_record.items()
    )


def _value(
    record_id: str,
    key: str,
    stored: Mapping[str, StoredRecord],
    new: Mapping[str, Mapping[str, Any]],
) -> Any:
    if record_id in new:
        return new[record_id].get(key)
    found = stored.get(record_id)
    return found.values.get(key) if found is not None else None


def build_review(
    items: Sequence[Item],
    bundle_ops: Sequence[Op],
    stored: Mapping[str, StoredRecord],
    *,
    authors: Mapping[str, str] | None = None,
    new_total: int | None = None,
    field_order: Callable[[str], int] = _unordered,
) -> ReviewData:
    """The review page's values.

    Args:
        items: the bundle's staging findings, in order.
        bundle_ops: the bundle's ops for the records the page shows (new records,
            records with findings), in bundle order.
        stored: the store's records the findings name (their own and the other
            holders of duplicate ID numbers), each marked visible or not.
        authors: who made stored ops, by op id, when known.
        new_total: how many records the whole bundle creates (staging counted
            them), when ``bundle_ops`` holds only some of them.
        field_order: a field's place on the form (the merge screen follows it).
    """
    authors = authors or {}
    by_id = {op.op_id: op for op in bundle_ops}
    per_record: dict[str, list[Op]] = {}
    for op in bundle_ops:
        per_record.setdefault(op.record_id, []).append(op)
    new_values = {
        rid: fold_values(ops)
        for rid, ops in per_record.items()
        if rid not in stored and any(op.kind is OpKind.CREATE for op in ops)
    }
    conflicts = tuple(
        Conflict(
            item=i.id,
            record_id=i.record_id,
            name=_value(i.record_id, "name", stored, new_values),
            field=i.field or "",
            old=i.data.get("old"),
            competitors=_competitors(i, by_id, stored.get(i.record_id), authors),
            needs_review=bool(i.data.get("needs_review")),
        )
        for i in items
        if i.kind == "conflict"
    )
    duplicates = []
    for i in items:
        if i.kind != "duplicate":
            continue
        mine = new_values.get(i.record_id) or dict(
            stored[i.record_id].values if i.record_id in stored else {}
        )
        candidates = []
        for other_id in i.data.get("others", ()):
            other = stored.get(str(other_id))
            if other is None:
                continue
            candidates.append(
                MergeCandidate(
                    record_id=other.record_id,
                    site=other.site,
                    visible=other.visible,
                    fields=_merge_fields(mine, other.values, field_order) if other.visible else (),
                )
            )
        duplicates.append(
            Duplicate(
                item=i.id,
                record_id=i.record_id,
                name=mine.get("name"),
                id_number=mine.get("id_number"),
                candidates=tuple(candidates),
            )
        )
    warnings = tuple(
        WarningLine(
            record_id=i.record_id,
            name=_value(i.record_id, "name", stored, new_values),
            field=i.field,
            problems=tuple(i.data.get("problems", ())),
        )
        for i in items
        if i.kind == "warning"
    )
    new_ids = [rid for rid in per_record if rid in new_values]
    return ReviewData(
        new_records=tuple(
            NewRecord(record_id=rid, values=new_values[rid]) for rid in new_ids[:NEW_RECORDS_SHOWN]
        ),
        new_total=len(new_ids) if new_total is None else max(new_total, len(new_ids)),
        changes=_grouped([i for i in items if i.kind == "change"], stored, new_values),
        parallel=_grouped([i for i in items if i.kind == "parallel"], stored, new_values),
        conflicts=conflicts,
        duplicates=tuple(duplicates),
        warnings=warnings,
        authors=dict(authors),
    )
