"""Keeping ``report_facts`` in step with the records (docs/reports.md §8.1).

The reports count from ``report_facts``, one short row per live record, never
from the records' JSON (reading every record's JSON takes minutes for a
province on SQLite; see ``bench/reports.py``). The rows are kept *after* the
merge, off its path: every merge step stores its ops as an op batch, whose ids
only grow, so :func:`refresh_facts` reads the batches after the last one it
saw (``report_facts_cursor`` in ``hub_state``), recomputes the facts of the
records they touched, and moves the cursor, in one transaction per step.

Each step holds the merge lock (``Store.lock_merges``; on SQLite the writer
lock), so no merge is half-committed while the cursor moves: an op batch id
below the newest one seen is never committed later. The facts are worked out
from the records as they are now, so doing a step twice is harmless.

Records created by a baseline import (their op batch came in a ``baseline``
bundle, here or from the parent) are marked ``baseline``: the reports count
them as *expected*, and as collected only once a collector gave them a
collection date.

A full rebuild runs when the facts were made under another schema (its
version is kept as ``report_facts_schema``: the required fields may differ),
when ``verify=True`` finds the live records and the facts rows differ in
number (a record changed by a path that keeps no op batch), or when asked.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import msgpack
import sqlalchemy as sa
import zstandard
from sqlalchemy.orm import Session

from hub.context import HubContext, get_state, give_up_if_stopping, set_state
from hub.store.bulk import insert_rows
from hub.store.models import BundleRow, OpBatch, RecordRow
from hub.store.report_models import FactsRow
from node.reports.factrules import FactRow, FactRules
from protocol.bundle import BundleKind
from protocol.ops import STATUS_LIVE

__all__ = ["CURSOR_KEY", "SCHEMA_KEY", "FactsRefresh", "facts_for", "refresh_facts"]

#: ``hub_state`` key: the id of the last op batch whose records have facts.
CURSOR_KEY: Final = "report_facts_cursor"
#: ``hub_state`` key: the schema version the facts were computed under.
SCHEMA_KEY: Final = "report_facts_schema"
#: Records read per rebuild step, op batches per refresh step.
_PAGE: Final = 2000
_BATCHES: Final = 20
_IN: Final = 900
_RULES_LOCK = threading.Lock()
_REFRESH_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True, kw_only=True)
class FactsRefresh:
    """What a refresh did.

    Attributes:
        rebuilt: every fact row was made again.
        records: records whose facts were written or removed.
        batches: op batches read.
        cursor: the last op batch covered.
    """

    rebuilt: bool
    records: int
    batches: int
    cursor: int


_RULES: dict[str, FactRules] = {}


def _rules(ctx: HubContext) -> FactRules:
    with _RULES_LOCK:
        rules = _RULES.get(ctx.schema.version)
        if rules is None:
            rules = _RULES[ctx.schema.version] = FactRules(ctx.schema)
        return rules


def facts_for(rules: FactRules, rows: Iterable[tuple[str, str, str, Any]]) -> list[FactRow]:
    """Facts of the live ones among ``(record_id, site, status, data)`` rows."""
    return [
        rules.row(record_id, site, data)
        for record_id, site, status, data in rows
        if status == STATUS_LIVE and isinstance(data, dict)
    ]


def _touched(data: bytes) -> Iterator[str]:
    """The record ids of the ops in one op batch (canonical op entries, zstd)."""
    reader = zstandard.ZstdDecompressor().stream_reader(data)
    # An op's wire form is a positional array whose item 1 is the record id's 16 bytes
    # (docs/merge.md §2.1); nothing else is needed here.
    for entry in msgpack.Unpacker(reader, raw=False, strict_map_key=False):
        if isinstance(entry, list) and len(entry) > 1 and isinstance(entry[1], bytes):
            yield str(uuid.UUID(bytes=entry[1]))


_COLUMNS: Final = (
    "record_id",
    "site",
    "region",
    "categories",
    "collected_on",
    "extra",
    "missing",
    "baseline",
)


def _write(
    session: Session, ids: Iterable[str], rows: list[FactRow], baseline: set[str], *, fresh: bool
) -> None:
    """Replace the facts of ``ids`` with ``rows`` (records not among the rows lose theirs).

    A record keeps its baseline mark; those in ``baseline`` get it. ``fresh``: a
    rebuild, whose last step marks the baseline records again, so the marks are
    not looked up.
    """
    marked = set(baseline)
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), _IN):
        part = wanted[start : start + _IN]
        if not fresh:
            marked.update(
                session.scalars(
                    sa.select(FactsRow.record_id).where(
                        FactsRow.record_id.in_(part), FactsRow.baseline.is_(True)
                    )
                )
            )
        session.execute(sa.delete(FactsRow).where(FactsRow.record_id.in_(part)))
    sqlite = session.get_bind().dialect.name == "sqlite"
    insert_rows(
        session,
        "report_facts",
        _COLUMNS,
        [
            (
                *row[:4],
                # The SQLite driver's own date adapter is deprecated: give it the text.
                row.collected_on.isoformat() if sqlite and row.collected_on else row.collected_on,
                row.extra,
                row.missing,
                row.record_id in marked,
            )
            for row in rows
        ],
    )


def _baseline_ids(session: Session, batch_ids: list[int]) -> set[str]:
    """The records created by the op batches among ``batch_ids`` that came in a baseline."""
    found: set[str] = set()
    for start in range(0, len(batch_ids), _IN):
        for (data,) in session.execute(
            sa.select(OpBatch.data)
            .join(BundleRow, BundleRow.id == OpBatch.bundle)
            .where(
                OpBatch.id.in_(batch_ids[start : start + _IN]),
                BundleRow.kind == BundleKind.BASELINE.value,
            )
        ):
            found.update(_touched(data))
    return found


def _load(session: Session, ids: list[str]) -> list[tuple[str, str, str, Any]]:
    found: list[tuple[str, str, str, Any]] = []
    for start in range(0, len(ids), _IN):
        found.extend(
            tuple(r)
            for r in session.execute(
                sa.select(
                    RecordRow.record_id, RecordRow.site, RecordRow.status, RecordRow.data
                ).where(RecordRow.record_id.in_(ids[start : start + _IN]))
            )
        )
    return found


def _step(ctx: HubContext, rules: FactRules) -> tuple[int, int, int] | None:
    """Cover the next op batches; ``(records, batches, cursor)``, or None when none is left."""
    # Between two steps, each its own transaction, is where a stopping hub gives up: the
    # cursor names the last step committed, and the next refresh goes on from there.
    give_up_if_stopping(ctx, "the refresh of the report facts")
    with ctx.store.write() as session:
        ctx.store.lock_merges(session)
        cursor = int(get_state(session, CURSOR_KEY) or 0)
        batches = session.execute(
            sa.select(OpBatch.id, OpBatch.data)
            .where(OpBatch.id > cursor)
            .order_by(OpBatch.id)
            .limit(_BATCHES)
        ).all()
        if not batches:
            return None
        ids: set[str] = set()
        for _, data in batches:
            ids.update(_touched(data))
        wanted = sorted(ids)
        baseline = _baseline_ids(session, [number for number, _ in batches])
        _write(session, wanted, facts_for(rules, _load(session, wanted)), baseline, fresh=False)
        cursor = batches[-1][0]
        set_state(session, CURSOR_KEY, str(cursor))
        return len(wanted), len(batches), cursor


def _stale(ctx: HubContext, *, verify: bool) -> bool:
    with ctx.store.read() as session:
        if get_state(session, SCHEMA_KEY) != ctx.schema.version:
            return True
        if not verify:
            return False
        live = session.scalar(
            sa.select(sa.func.count()).select_from(RecordRow).where(RecordRow.status == STATUS_LIVE)
        )
        facts = session.scalar(sa.select(sa.func.count()).select_from(FactsRow))
        return int(live or 0) != int(facts or 0)


def _mark_baseline(session: Session) -> None:
    """Mark every record a baseline bundle created (a rebuild's last step)."""
    batches = session.scalars(
        sa.select(OpBatch.id)
        .join(BundleRow, BundleRow.id == OpBatch.bundle)
        .where(BundleRow.kind == BundleKind.BASELINE.value)
        .order_by(OpBatch.id)
    ).all()
    for start in range(0, len(batches), _BATCHES):
        ids = sorted(_baseline_ids(session, list(batches[start : start + _BATCHES])))
        for first in range(0, len(ids), _IN):
            session.execute(
                sa.update(FactsRow)
                .where(FactsRow.record_id.in_(ids[first : first + _IN]))
                .values(baseline=True)
            )


def _rebuild(ctx: HubContext, rules: FactRules) -> int:
    with ctx.store.write() as session:
        ctx.store.lock_merges(session)
        top = session.scalar(sa.select(sa.func.max(OpBatch.id))) or 0
        session.execute(sa.delete(FactsRow))
        # A crash from here on leaves a tag no schema has: the next refresh rebuilds.
        set_state(session, SCHEMA_KEY, "rebuilding")
        set_state(session, CURSOR_KEY, str(top))
    after, count = "", 0
    while True:
        # Between two pages: the tag "rebuilding" makes the next refresh start again.
        give_up_if_stopping(ctx, "the rebuild of the report facts")
        with ctx.store.write() as session:
            ctx.store.lock_merges(session)
            page = session.execute(
                sa.select(RecordRow.record_id, RecordRow.site, RecordRow.status, RecordRow.data)
                .where(RecordRow.record_id > after)
                .order_by(RecordRow.record_id)
                .limit(_PAGE)
            ).all()
            if not page:
                _mark_baseline(session)
                set_state(session, SCHEMA_KEY, ctx.schema.version)
                return count
            rows = [tuple(r) for r in page]
            _write(session, (r[0] for r in rows), facts_for(rules, rows), set(), fresh=True)
            after = rows[-1][0]
            count += len(rows)


def refresh_facts(ctx: HubContext, *, verify: bool = False, rebuild: bool = False) -> FactsRefresh:
    """Bring ``report_facts`` up to date with the merged records.

    Args:
        ctx: the hub's services.
        verify: also compare the number of live records and of facts rows (a
            full count: the daily snapshot job asks for it), and rebuild if
            they differ.
        rebuild: make every row again.

    Raises:
        StoppingError: the hub began to stop; the steps done so far are kept.
    """
    rules = _rules(ctx)
    with _REFRESH_LOCK:
        rebuilt = rebuild or _stale(ctx, verify=False)
        records = _rebuild(ctx, rules) if rebuilt else 0
        batches, cursor = 0, 0
        while (step := _step(ctx, rules)) is not None:
            records, batches, cursor = records + step[0], batches + step[1], step[2]
        if verify and not rebuilt and _stale(ctx, verify=True):
            rebuilt, records = True, records + _rebuild(ctx, rules)
            while (step := _step(ctx, rules)) is not None:
                records, batches, cursor = records + step[0], batches + step[1], step[2]
        if not cursor:
            with ctx.store.read() as session:
                cursor = int(get_state(session, CURSOR_KEY) or 0)
    return FactsRefresh(rebuilt=rebuilt, records=records, batches=batches, cursor=cursor)
