"""Reading a reviewer's choices from the review form into resolutions (pure).

The form names every choice after the finding it resolves, and carries no
values of its own except what the reviewer typed: a chosen value is looked up
in the findings on the server, so a forged form can only pick among the values
the page offered (or type one, which is checked like any other value).

| form field | values | meaning |
|---|---|---|
| ``conflict-<item>`` | empty, a head's index, ``other`` | leave open, keep it, type one |
| ``conflict-<item>-other`` | text | the typed value |
| ``dup-<item>`` | empty, a candidate's record id | keep both, or merge with that record |
| ``dup-<item>-<record>-survivor`` | ``new``, ``other`` | which record survives |
| ``dup-<item>-<record>-<field>`` | ``new``, ``other`` | whose value the survivor keeps |

Conflicts become ``set`` resolutions (based, when the bundle merges, on every head
then present); merges become ``merge`` resolutions: the values picked for the
survivor, then the other record merged into it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from hub.console.errors import FormError
from hub.console.reviewvalues import Conflict, Duplicate, MergeCandidate, ReviewData
from hub.review import Resolution
from protocol.errors import FieldValueError
from protocol.schema import Schema, coerce_value

__all__ = ["MAX_REASON", "read_resolutions"]

#: Longest reason a reviewer may give (the review service's own limit).
MAX_REASON: Final = 2000
_MAX_TYPED: Final = 500


def _text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _typed(schema: Schema, conflict: Conflict, text: str) -> Any:
    if not text:
        raise FormError(
            f"conflict {conflict.item}: expected a value for field {conflict.field}, got none",
            key="review.error.other_empty",
            item=conflict.item,
        )
    if len(text) > _MAX_TYPED:
        raise FormError(
            f"conflict {conflict.item}: expected at most {_MAX_TYPED} characters",
            key="review.error.other_long",
            item=conflict.item,
        )
    if not schema.has_field(conflict.field):
        return text
    try:
        value = coerce_value(schema.field(conflict.field), text)
    except FieldValueError as exc:
        raise FormError(
            f"conflict {conflict.item}: the typed value of field {conflict.field} "
            f"fails {_code(exc)}",
            key="review.error.bad_value",
            item=conflict.item,
            message_zh=getattr(exc.problem, "message_zh", ""),
            message_en=getattr(exc.problem, "message_en", ""),
        ) from exc
    if value is None:
        raise FormError(
            f"conflict {conflict.item}: expected a value for field {conflict.field}, got none",
            key="review.error.other_empty",
            item=conflict.item,
        )
    return value


def _code(error: FieldValueError) -> str:
    return str(getattr(error.problem, "code", error.code))


def _conflict(
    schema: Schema, conflict: Conflict, form: Mapping[str, Any], reason: str
) -> Resolution | None:
    choice = _text(form, f"conflict-{conflict.item}")
    if not choice:
        return None
    if choice == "other":
        value = _typed(schema, conflict, _text(form, f"conflict-{conflict.item}-other"))
    else:
        index = int(choice) if choice.isascii() and choice.isdigit() else -1
        if not 0 <= index < len(conflict.competitors):
            raise FormError(
                f"conflict {conflict.item}: expected a competing value, got {choice[:20]!r}",
                key="review.error.unknown_choice",
                item=conflict.item,
            )
        value = conflict.competitors[index].value
    return Resolution(
        kind="set", record_id=conflict.record_id, field=conflict.field, value=value, reason=reason
    )


def _pick(form: Mapping[str, Any], key: str, default: str, item: int) -> str:
    choice = _text(form, key) or default
    if choice not in ("new", "other"):
        raise FormError(
            f"duplicate {item}: expected new or other, got {choice[:20]!r}",
            key="review.error.unknown_choice",
            item=item,
        )
    return choice


def _merge(
    duplicate: Duplicate, candidate: MergeCandidate, form: Mapping[str, Any], reason: str
) -> Resolution:
    prefix = f"dup-{duplicate.item}-{candidate.record_id}"
    survivor = _pick(form, f"{prefix}-survivor", "other", duplicate.item)
    picks = []
    for merge_field in candidate.fields:
        if merge_field.same:
            continue
        choice = _pick(form, f"{prefix}-{merge_field.field}", survivor, duplicate.item)
        picked = merge_field.new if choice == "new" else merge_field.other
        kept = merge_field.new if survivor == "new" else merge_field.other
        if picked is not None and picked != kept:
            picks.append((merge_field.field, picked))
    new_id, other_id = duplicate.record_id, candidate.record_id
    return Resolution(
        kind="merge",
        record_id=other_id if survivor == "new" else new_id,
        survivor=new_id if survivor == "new" else other_id,
        fields=tuple(sorted(picks)),
        reason=reason,
    )


def _duplicate(duplicate: Duplicate, form: Mapping[str, Any], reason: str) -> Resolution | None:
    partner = _text(form, f"dup-{duplicate.item}")
    if not partner:
        return None
    candidate = duplicate.candidate(partner)
    if candidate is None or not candidate.visible:
        raise FormError(
            f"duplicate {duplicate.item}: expected one of the records shown to merge with",
            key="review.error.unknown_choice",
            item=duplicate.item,
        )
    return _merge(duplicate, candidate, form, reason)


def read_resolutions(
    data: ReviewData, form: Mapping[str, Any], *, schema: Schema
) -> tuple[Resolution, ...]:
    """The resolutions a submitted review form asks for (none: a plain approval).

    Raises:
        FormError: a choice names no offered value or record, a typed value is
            missing or not valid for its field, two choices disagree about one
            field, or the reason is too long. Nothing is decided.
    """
    reason = _text(form, "resolution_reason")
    if len(reason) > MAX_REASON:
        raise FormError(
            f"resolution reason: expected at most {MAX_REASON} characters, got {len(reason)}",
            key="review.error.reason_long",
        )
    chosen: dict[tuple[str, str], Resolution] = {}
    for conflict in data.conflicts:
        resolution = _conflict(schema, conflict, form, reason)
        if resolution is None:
            continue
        key = (conflict.record_id, conflict.field)
        earlier = chosen.get(key)
        if earlier is not None and earlier.value != resolution.value:
            raise FormError(
                f"conflict {conflict.item}: another choice for field {conflict.field} "
                "of the same record differs",
                key="review.error.disagree",
                item=conflict.item,
            )
        chosen[key] = resolution
    merges = [r for r in (_duplicate(d, form, reason) for d in data.duplicates) if r is not None]
    losers = [r.record_id for r in merges]
    if len(set(losers)) != len(losers):
        raise FormError(
            "duplicates: expected each record merged away at most once",
            key="review.error.disagree",
        )
    for merge in merges:
        for field, value in merge.fields:
            earlier = chosen.get((merge.survivor or "", field))
            if earlier is not None and earlier.value != value:
                raise FormError(
                    f"duplicates: the value picked for field {field} differs from the "
                    "conflict's choice for the same record",
                    key="review.error.disagree",
                )
    return (*chosen.values(), *merges)
