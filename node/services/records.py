"""Records as collectors see them: search, the record page, saving forms, flags, blobs.

A form is saved in three steps, and nothing is written unless all pass:

1. every raw value is coerced to its canonical form (``protocol.schema.coerce_value``);
2. the whole record as it would be is validated (``protocol.validation``) and checked
   for an ID number another record on this node holds;
3. the changes become ops — a ``create`` for a new record, or one ``set`` per changed
   field based on the versions the form was rendered with — applied and logged
   (:mod:`node.services.oplog`) in one transaction.

A form rendered before someone else changed a field carries that field's old version:
the new op then competes with the other edit (a conflict, sent up for review) instead of
silently overwriting it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from node.errors import FormError, NotFoundError
from node.services.audit import append_audit
from node.services.context import NodeContext
from node.services.oplog import (
    SchemaPolicy,
    apply_and_log,
    categories_of,
    count_ops,
    held_by,
    load_state,
    replay,
)
from node.services.values import (
    BlobRef,
    FieldChange,
    HistoryItem,
    RecordFlag,
    RecordSummary,
    RecordView,
    SaveResult,
    frozen_map,
)
from node.store.models import BlobRow, OpRow, OpState, RecordFlagRow, RecordRow
from protocol.entries import MAX_BLOB_BYTES, blob_id_of
from protocol.errors import FieldValueError
from protocol.merge import OutcomeKind, RecordState
from protocol.ops import STATUS_FIELD, Op, OpKind, Value
from protocol.schema import CATEGORY_FIELD, FieldDef, FieldType, Problem, coerce_value
from protocol.validation import validate_record, validate_value

__all__ = [
    "MEDIA_TYPES",
    "attach_blob",
    "confirm_baseline",
    "get_blob",
    "get_record",
    "save_record",
    "search",
    "set_flags",
    "store_blob",
]

#: What a photo, signature or scan may be, and the bytes each must start with.
MEDIA_TYPES: Final[Mapping[str, tuple[bytes, ...]]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
    # The ID card's own photo, as the chip stores it, when no decoder is configured.
    "application/x-wlt": (b"",),
}
HOME_VISIT_FIELD: Final = "collection_method"
HOME_VISIT_VALUE: Final = "上门采集"
ON_SITE_VALUE: Final = "现场采集"
LIVING_FIELD: Final = "living_status"
DECEASED_VALUE: Final = "已故"
ALIVE_VALUE: Final = "健在"
_ID_QUERY: Final = re.compile(r"[0-9]{6,17}[0-9Xx]?")
_SEARCH_LIMIT: Final = 50


def local_today(ctx: NodeContext) -> date:
    """Today where the node runs (dates people write are local dates)."""
    return ctx.now().astimezone().date()


def _record_row(session: Session, record_id: str) -> RecordRow:
    row = session.get(RecordRow, record_id) if isinstance(record_id, str) else None
    if row is None:
        raise NotFoundError("no such record on this node", what="record")
    return row


def _flags(session: Session, row: RecordRow) -> frozenset[RecordFlag]:
    flags: set[RecordFlag] = set()
    if row.values.get(HOME_VISIT_FIELD) == HOME_VISIT_VALUE:
        flags.add(RecordFlag.HOME_VISIT)
    if row.values.get(LIVING_FIELD) == DECEASED_VALUE:
        flags.add(RecordFlag.DECEASED)
    stored = session.execute(
        select(RecordFlagRow.flag).where(RecordFlagRow.record_id == row.record_id)
    ).scalars()
    flags.update(RecordFlag(f) for f in stored)
    if count_ops(session, row.record_id, OpState.RETURNED):
        flags.add(RecordFlag.RETURNED)
    return frozenset(flags)


def summary_of(session: Session, row: RecordRow) -> RecordSummary:
    """The search-list value of a record row."""
    state = RecordState.from_row(row.record_id, row.values, row.versions)
    return RecordSummary(
        record_id=row.record_id,
        name=row.name,
        id_number=row.id_number,
        categories=categories_of(row.values),
        status=row.status,
        flags=_flags(session, row),
        draft_ops=count_ops(session, row.record_id, OpState.DRAFT),
        conflicts=tuple(sorted(state.open_conflicts())),
        updated_at=row.updated_at,
    )


def search(session: Session, query: str) -> list[RecordSummary]:
    """Records whose ID number starts with ``query``, or whose name contains it.

    At most 50, most recently changed first. An empty query lists the latest records.
    """
    text = query.strip() if isinstance(query, str) else ""
    statement = select(RecordRow).order_by(RecordRow.updated_at.desc()).limit(_SEARCH_LIMIT)
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        if _ID_QUERY.fullmatch(text):
            statement = statement.where(
                or_(
                    RecordRow.id_number.like(escaped.upper() + "%", escape="\\"),
                    RecordRow.name.like("%" + escaped + "%", escape="\\"),
                )
            )
        else:
            statement = statement.where(RecordRow.name.like("%" + escaped + "%", escape="\\"))
    return [summary_of(session, row) for row in session.execute(statement).scalars()]


def get_record(ctx: NodeContext, session: Session, record_id: str) -> RecordView:
    """The record page: values, per-field versions, conflicts, flags and history.

    Raises:
        NotFoundError: no such record on this node.
    """
    row = _record_row(session, record_id)
    state = RecordState.from_row(row.record_id, row.values, row.versions)
    _, steps = replay(session, record_id, SchemaPolicy(ctx.schema))
    history = tuple(_history_item(row_, op, outcomes) for row_, op, outcomes in steps)
    versions: dict[str, tuple[str, ...]] = {}
    conflicts: dict[str, tuple[Value, ...]] = {}
    for name, register in state.fields.items():
        if name == STATUS_FIELD:
            continue
        versions[name] = tuple(head.op_id for head in register.heads)
        if register.conflicted:
            conflicts[name] = tuple(head.value for head in register.heads)
    returned = [s for s in steps if s[0].state == OpState.RETURNED.value and s[0].note]
    values = {k: v for k, v in state.values().items() if k != STATUS_FIELD}
    return RecordView(
        record_id=row.record_id,
        status=state.status,
        categories=categories_of(row.values),
        values=frozen_map(values),
        versions=frozen_map(versions),
        record_version=state.version,
        conflicts=frozen_map(conflicts),
        flags=_flags(session, row),
        history=history,
        returned_note=returned[-1][0].note if returned else None,
    )


def _history_item(row: OpRow, op: Op, outcomes: Sequence[Any]) -> HistoryItem:
    changes: list[FieldChange] = []
    kind = "already_applied"
    for outcome in outcomes:
        if outcome.kind is OutcomeKind.DUPLICATE:
            continue
        kind = outcome.kind.value
        if outcome.kind is OutcomeKind.ALREADY_APPLIED:
            continue
        if op.kind is OpKind.CREATE:
            changes.extend(FieldChange(field=f, old=None, new=v) for f, v in op.create_values())
        elif outcome.field is not None:
            changes.append(FieldChange(field=outcome.field, old=outcome.old, new=outcome.new))
    return HistoryItem(
        op_id=op.op_id,
        kind=op.kind.value,
        at=datetime.fromtimestamp(op.hlc.wall_ms / 1000, UTC),
        author=op.author,
        site=op.site,
        state=OpState(row.state),
        changes=tuple(changes),
        outcome=kind,
        note=row.note,
        reason=op.reason,
        batch_id=row.batch_id,
    )


class _Form:
    """Coerce a form's raw values; collect a problem per field that cannot be coerced."""

    def __init__(self, ctx: NodeContext) -> None:
        self.schema = ctx.schema
        self.problems: list[Problem] = []

    def categories(self, raw: object) -> tuple[str, ...] | None:
        value = self.value(self.schema.category_field, raw)
        return tuple(value) if isinstance(value, tuple) else None

    def value(self, field: FieldDef, raw: object) -> Value:
        try:
            value = coerce_value(field, raw)
        except FieldValueError as exc:
            self.problems.append(exc.problem)
            return None
        return value  # type: ignore[return-value]  # coerce_value returns canonical values


def _missing_blob_problem(field: FieldDef) -> Problem:
    return Problem(
        field=field.key,
        code="blob_missing",
        message_zh=f"{field.label_zh}：文件未上传，请重新上传",
        message_en=f"{field.label_en}: the file was not uploaded; upload it again",
    )


def _duplicate_problem(ctx: NodeContext) -> Problem:
    field = ctx.schema.field("id_number")
    return Problem(
        field=field.key,
        code="duplicate_id_number",
        message_zh=f"{field.label_zh}已属于本采集点的另一条记录，请打开该记录",
        message_en=f"{field.label_en} already belongs to another record on this node; open it",
    )


def _blob_refs(field: FieldDef, value: Value) -> tuple[str, ...]:
    if field.type is not FieldType.PHOTO or value is None:
        return ()
    return tuple(value) if isinstance(value, tuple) else (str(value),)


def save_record(
    ctx: NodeContext,
    session: Session,
    *,
    record_id: str | None,
    categories: Sequence[str] | str,
    raw_values: Mapping[str, object],
    author: str,
    versions: Mapping[str, Sequence[str]] | None = None,
    record_version: str | None = None,
) -> SaveResult:
    """Coerce, validate and save a form (see the module docstring).

    Args:
        record_id: the record to change, or None for a new record.
        categories: the person's category keys (or codes).
        raw_values: field → what the form sent (strings, lists for multi-selects).
            Fields not sent keep their values; a blank value empties the field.
        author: the account's subject (``370102001/li.na``).
        versions: the versions the form was rendered with (``RecordView.versions``);
            a field missing from it was empty then. None means "the current ones".
        record_version: ``RecordView.record_version`` of the rendered form.

    Raises:
        NotFoundError: ``record_id`` names no record here.
        FormError: ``raw_values`` is not a mapping of field names.
    """
    if not isinstance(raw_values, Mapping):
        raise FormError("form values: expected a mapping of field names to values")
    schema = ctx.schema
    form = _Form(ctx)
    chosen = form.categories(categories)
    typed: dict[str, Value] = {}
    unknown: list[Problem] = []
    for key, raw in raw_values.items():
        if key == CATEGORY_FIELD:
            continue
        if not isinstance(key, str) or not schema.has_field(key):
            problem = validate_value(str(key), raw, schema, today=local_today(ctx),
                                     divisions=ctx.divisions)  # fmt: skip
            unknown.extend([problem] if problem else [])
            continue
        typed[key] = form.value(schema.field(key), raw)
    if form.problems or unknown or chosen is None:
        return SaveResult(saved=False, record_id=record_id, problems=(*form.problems, *unknown))

    state = None
    if record_id is not None:
        _record_row(session, record_id)
        state = load_state(session, record_id)
    current = {k: v for k, v in (state.values() if state else {}).items() if k != STATUS_FIELD}
    merged = {**current, **typed, CATEGORY_FIELD: chosen}
    applicable = {f.key for f in schema.fields_for(chosen)}
    # Old values of fields the new categories do not collect are emptied (their history
    # keeps them); a value sent for such a field is refused by validation instead.
    kept = applicable | typed.keys()
    cleared = tuple(sorted(k for k, v in current.items() if k not in kept and v is not None))
    record: dict[str, Value] = {
        k: v for k, v in merged.items() if v is not None and k not in cleared
    }
    today = local_today(ctx)
    problems = list(validate_record(record, schema, today=today, divisions=ctx.divisions))
    refs = {key: _blob_refs(schema.field(key), value) for key, value in record.items()}
    wanted = sorted({ref for found in refs.values() for ref in found})
    stored = set(
        session.execute(select(BlobRow.blob_id).where(BlobRow.blob_id.in_(wanted))).scalars()
    )
    problems.extend(
        _missing_blob_problem(schema.field(key))
        for key, found in refs.items()
        if any(ref not in stored for ref in found)
    )
    existing = None
    number = record.get("id_number")
    if isinstance(number, str) and number != current.get("id_number"):
        holders = held_by(session, number, besides=record_id)
        if holders:
            existing = holders[0]
            problems.append(_duplicate_problem(ctx))
    if problems:
        problems.sort(key=lambda p: schema.position(p.field) if schema.has_field(p.field) else 0)
        return SaveResult(
            saved=False, record_id=record_id, problems=tuple(problems), existing_record_id=existing
        )

    ops = _ops_for(
        ctx,
        session,
        _Change(state=state, record_id=record_id, record=record, current=current),
        author=author,
        versions=versions,
        record_version=record_version,
    )
    now = ctx.now()
    applied = apply_and_log(
        session, ops, policy=SchemaPolicy(schema), op_state=OpState.DRAFT, now=now
    )
    rid = ops[0].record_id if ops else record_id
    assert rid is not None
    _resubmit(session, rid)
    session.execute(
        delete(RecordFlagRow).where(
            RecordFlagRow.record_id == rid, RecordFlagRow.flag == RecordFlag.TO_VERIFY.value
        )
    )
    conflicts = sorted(
        {o.field for a in applied for o in a.outcomes if o.kind is OutcomeKind.CONFLICT and o.field}
    )
    if ops:
        append_audit(
            session,
            at=now,
            actor=author,
            action="record.created" if state is None else "record.changed",
            subject=rid,
            details={"ops": len(ops), "conflicts": len(conflicts)},
        )
    return SaveResult(
        saved=True,
        record_id=rid,
        op_ids=tuple(op.op_id for op in ops),
        conflicts=tuple(conflicts),
        cleared=cleared,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Change:
    """A validated form: the record's state before, and its values before and after."""

    state: RecordState | None
    record_id: str | None
    record: Mapping[str, Value]
    current: Mapping[str, Value]


def _ops_for(
    ctx: NodeContext,
    session: Session,
    change: _Change,
    *,
    author: str,
    versions: Mapping[str, Sequence[str]] | None,
    record_version: str | None,
) -> list[Op]:
    state, record_id, record, current = (
        change.state,
        change.record_id,
        change.record,
        change.current,
    )
    if state is None:
        new_id = record_id or str(uuid.UUID(bytes=ctx.rng(16), version=4))
        return [
            Op(
                kind=OpKind.CREATE,
                record_id=new_id,
                value=record,
                hlc=ctx.clock.tick(session),
                author=author,
                site=ctx.node_id,
            )
        ]
    ops: list[Op] = []
    fields = sorted(set(record) | set(current), key=_field_order(ctx))
    base_record = record_version if versions is not None else state.version
    for name in fields:
        new, old = record.get(name), current.get(name)
        if _same(new, old):
            continue
        if versions is None:
            register = state.field_state(name)
            base = tuple(h.op_id for h in register.heads) if register else ()
        else:
            base = tuple(versions.get(name, ()))
        ops.append(
            Op(
                kind=OpKind.SET,
                record_id=state.record_id,
                field=name,
                value=new,
                base=base,
                record_base=base_record,
                hlc=ctx.clock.tick(session),
                author=author,
                site=ctx.node_id,
            )
        )
    return ops


def _field_order(ctx: NodeContext) -> Any:
    schema = ctx.schema

    def key(name: str) -> tuple[int, str]:
        return (schema.position(name) if schema.has_field(name) else 10_000, name)

    return key


def _same(a: Value, b: Value) -> bool:
    return a == b and type(a) is type(b)


def _resubmit(session: Session, record_id: str) -> None:
    """A collector's save answers an approver's return: the record's ops wait again."""
    for row in session.execute(
        select(OpRow).where(OpRow.record_id == record_id, OpRow.state == OpState.RETURNED.value)
    ).scalars():
        row.state = OpState.DRAFT.value


def set_flags(
    ctx: NodeContext,
    session: Session,
    record_id: str,
    *,
    author: str,
    home_visit: bool | None = None,
    deceased: bool | None = None,
    unreachable: bool | None = None,
) -> SaveResult:
    """Set or clear a record's flags (None leaves a flag as it is).

    Home visit and deceased are record data (``collection_method`` 上门采集,
    ``living_status`` 已故) and become ops like any edit; unreachable is a node-local
    mark.

    Raises:
        NotFoundError: no such record.
    """
    row = _record_row(session, record_id)
    changes: dict[str, object] = {}
    if home_visit is not None:
        current = row.values.get(HOME_VISIT_FIELD)
        if home_visit and current != HOME_VISIT_VALUE:
            changes[HOME_VISIT_FIELD] = HOME_VISIT_VALUE
        elif not home_visit and current == HOME_VISIT_VALUE:
            changes[HOME_VISIT_FIELD] = ON_SITE_VALUE
    if deceased is not None:
        current = row.values.get(LIVING_FIELD)
        if deceased and current != DECEASED_VALUE:
            changes[LIVING_FIELD] = DECEASED_VALUE
        elif not deceased and current == DECEASED_VALUE:
            changes[LIVING_FIELD] = ALIVE_VALUE
    result = SaveResult(saved=True, record_id=record_id)
    if changes:
        result = save_record(
            ctx,
            session,
            record_id=record_id,
            categories=categories_of(row.values),
            raw_values=changes,
            author=author,
        )
        if not result.saved:
            return result
    if unreachable is not None:
        flag = session.get(RecordFlagRow, (record_id, RecordFlag.UNREACHABLE.value))
        if unreachable and flag is None:
            session.add(
                RecordFlagRow(
                    record_id=record_id,
                    flag=RecordFlag.UNREACHABLE.value,
                    set_by=author,
                    set_at=ctx.now(),
                )
            )
        elif not unreachable and flag is not None:
            session.delete(flag)
        append_audit(
            session,
            at=ctx.now(),
            actor=author,
            action="record.flag",
            subject=record_id,
            details={"unreachable": unreachable},
        )
    return result


def confirm_baseline(ctx: NodeContext, session: Session, record_id: str, author: str) -> None:
    """A collector checked a baseline record and found it right.

    Raises:
        NotFoundError: no such record.
    """
    _record_row(session, record_id)
    flag = session.get(RecordFlagRow, (record_id, RecordFlag.TO_VERIFY.value))
    if flag is not None:
        session.delete(flag)
        append_audit(
            session, at=ctx.now(), actor=author, action="record.confirmed", subject=record_id
        )


def check_media(data: bytes, media_type: str) -> None:
    """Refuse a blob of an unknown type, too large, or whose bytes do not match its type.

    Raises:
        FormError: the type is not allowed, the file is empty or too large, or its first
            bytes are not those of its type.
    """
    if not isinstance(data, bytes | bytearray) or not data:
        raise FormError("file: expected a non-empty file")
    if len(data) > MAX_BLOB_BYTES:
        raise FormError(f"file: {len(data)} bytes, at most {MAX_BLOB_BYTES} allowed")
    magic = MEDIA_TYPES.get(media_type)
    if magic is None:
        raise FormError(f"file type: expected one of {', '.join(sorted(MEDIA_TYPES))}")
    if not any(bytes(data).startswith(m) for m in magic):
        raise FormError(f"file: its content is not {media_type}")


def store_blob(ctx: NodeContext, session: Session, data: bytes, media_type: str) -> BlobRef:
    """Keep a file (content-addressed) so a form can reference it as ``b2:…``.

    Raises:
        FormError: see :func:`check_media`.
    """
    check_media(data, media_type)
    blob_id = blob_id_of(bytes(data))
    if session.get(BlobRow, blob_id) is None:
        session.add(
            BlobRow(
                blob_id=blob_id,
                media_type=media_type,
                size=len(data),
                data=bytes(data),
                created_at=ctx.now(),
            )
        )
    return BlobRef(blob_id=blob_id, media_type=media_type, size=len(data))


def attach_blob(
    ctx: NodeContext,
    session: Session,
    record_id: str,
    *,
    field: str,
    data: bytes,
    media_type: str,
    author: str,
) -> BlobRef:
    """Store a file and set (or, for a multi-valued field, add) it on a record's field.

    Raises:
        NotFoundError: no such record.
        FormError: the field is not a photo field, or the file is refused.
    """
    row = _record_row(session, record_id)
    if not ctx.schema.has_field(field) or ctx.schema.field(field).type is not FieldType.PHOTO:
        raise FormError(f"field {field!r}: expected a photo, signature or scan field")
    ref = store_blob(ctx, session, data, media_type)
    definition = ctx.schema.field(field)
    current = row.values.get(field)
    value: object = ref.blob_id
    if definition.multi:
        value = sorted({*(current or ()), ref.blob_id})
    session.flush()
    result = save_record(
        ctx,
        session,
        record_id=record_id,
        categories=categories_of(row.values),
        raw_values={field: value},
        author=author,
    )
    if not result.saved:
        first = result.problems[0] if result.problems else None
        raise FormError(
            f"field {field}: the record does not accept it ({first.code if first else '?'})"
        )
    return BlobRef(
        blob_id=ref.blob_id,
        media_type=ref.media_type,
        size=ref.size,
        op_id=result.op_ids[0] if result.op_ids else None,
    )


def get_blob(session: Session, blob_id: str) -> tuple[str, bytes]:
    """A stored blob's media type and bytes.

    Raises:
        NotFoundError: no such blob.
    """
    row = session.get(BlobRow, blob_id) if isinstance(blob_id, str) else None
    if row is None:
        raise NotFoundError("no such file on this node", what="blob")
    return row.media_type, row.data


def count_live(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(RecordRow)).scalar_one())
