"""Reading an ID card into a form (the collector driver, ``node.collector``).

The card's identity fields are returned for the form, never written by themselves: when
the card's ID number already belongs to a record here, the collector is sent to that
record and shown where the card and the record differ. The card's photo is kept as a
blob (content-addressed, in the encrypted store) so the form can reference it as
``id_card_photo``.
"""

from __future__ import annotations

from typing import Final

from node.collector.card import CardRead
from node.errors import FormError, NotFoundError
from node.services.audit import append_audit
from node.services.context import NodeContext
from node.services.oplog import held_by, load_state
from node.services.records import store_blob
from node.services.values import CardResult, FieldChange, frozen_map
from node.store import transaction
from protocol.errors import FieldValueError
from protocol.ops import Value
from protocol.schema import coerce_value

__all__ = ["read_card"]

_PHOTO_FIELD: Final = "id_card_photo"
_WLT_TYPE: Final = "application/x-wlt"


def _card_fields(ctx: NodeContext, card: CardRead) -> dict[str, Value]:
    fields: dict[str, Value] = {}
    for key, raw in card.to_record_fields().items():
        if not ctx.schema.has_field(key) or not raw:
            continue
        try:
            fields[key] = coerce_value(ctx.schema.field(key), raw)  # type: ignore[assignment]
        except FieldValueError:
            continue  # the form shows the field empty; the card's own checks say why
    return fields


def read_card(ctx: NodeContext, record_id: str | None, *, timeout: float) -> CardResult:
    """Wait for a card on the reader and return its fields (see the module docstring).

    Raises:
        FormError: no reader is configured.
        NotFoundError: ``record_id`` names no record.
        CollectorError: the reader failed, or no card came within ``timeout``.
    """
    if ctx.card_source is None:
        raise FormError("no ID-card reader is configured ([collector] in node.toml)")
    if record_id is not None:
        with transaction(ctx.engine) as session:
            if load_state(session, record_id) is None:
                raise NotFoundError("no such record on this node", what="record")
    card = ctx.card_source(timeout)
    fields = _card_fields(ctx, card)
    photo = card.photo
    data, media = (photo.image, photo.media_type) if photo.image else (photo.wlt, _WLT_TYPE)
    with transaction(ctx.engine) as session:
        blob = store_blob(ctx, session, data, media or _WLT_TYPE)
        fields[_PHOTO_FIELD] = blob.blob_id
        number = fields.get("id_number")
        holders = held_by(session, number) if isinstance(number, str) else []
        existing = record_id if record_id is not None else (holders[0] if holders else None)
        differences: tuple[FieldChange, ...] = ()
        if existing is not None:
            state = load_state(session, existing)
            current = state.values() if state else {}
            differences = tuple(
                FieldChange(field=key, old=current.get(key), new=value)
                for key, value in fields.items()
                if key != _PHOTO_FIELD and current.get(key) != value
            )
        append_audit(
            session,
            at=ctx.now(),
            actor="collector",
            action="card.read",
            subject=existing or "new",
            details={"differences": len(differences), "checks": card.checks.passed},
        )
    return CardResult(
        fields=frozen_map(fields),
        photo_blob_id=blob.blob_id,
        existing_record_id=existing,
        differences=differences,
        checks_passed=card.checks.passed,
        failed_checks=card.checks.failures,
    )
