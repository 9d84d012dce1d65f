"""The cross-check at a hub: import a register, keep its mapping, match it, keep the findings.

- :func:`import_file` streams a CSV or XLSX file into a new dataset in the hub's
  store (:mod:`hub.crosscheck.storedatasets`) and saves the mapping it used for
  its source, so next month's extract imports without mapping again;
- :func:`run_check` matches a dataset's rows against the hub's live records and
  keeps what it finds: findings (new ones open; known ones keep their state; ones
  closed by a fix reopen), proposals for an administrator, and a re-check of the
  source's findings the new dataset no longer shows (they close as fixed).

Every step is audited with ids and counts, never a person's data. Sending the
findings down is :mod:`hub.crosscheck.dispatch`; the fix loop's other events are
:mod:`hub.crosscheck.fixloop`.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.audit import append_audit
from hub.context import HubContext
from hub.crosscheck.dataset import Dataset
from hub.crosscheck.findings import Finding, check_dataset, compared_fields
from hub.crosscheck.findingstore import FOUND_NEW, FOUND_REOPENED, load_known, record_found
from hub.crosscheck.fixloop import recheck_findings
from hub.crosscheck.hubrecords import index_records
from hub.crosscheck.importing import import_register
from hub.crosscheck.mapping import ColumnMapping
from hub.crosscheck.matching import MatchProposal
from hub.crosscheck.storedatasets import DatasetWriter, StoreDatasets, sweep_abandoned
from hub.errors import NotFoundError
from hub.store.crosscheck_models import DatasetRow, MappingRow, ProposalRow
from hub.store.models import RecordRow

__all__ = [
    "CheckSummary",
    "import_file",
    "require_dataset",
    "run_check",
    "save_mapping",
    "saved_mapping",
]

#: Findings and proposals stored per write transaction during a check.
_BATCH: Final = 1_000


def saved_mapping(ctx: HubContext, source: str) -> ColumnMapping | None:
    """The mapping saved for a source, if any.

    Raises:
        MappingError: the stored mapping no longer reads (a newer format).
    """
    with ctx.store.read() as session:
        row = session.get(MappingRow, source)
        return None if row is None else ColumnMapping.from_json(row.mapping_json)


def _keep_mapping(ctx: HubContext, session: Session, mapping: ColumnMapping, by: str) -> None:
    row = session.get(MappingRow, mapping.source, with_for_update=True)
    if row is None:
        row = MappingRow(source=mapping.source)
        session.add(row)
    row.source_kind = mapping.source_kind.value
    row.mapping_json = mapping.to_json()
    row.updated_by = by
    row.updated_at = ctx.now()


def save_mapping(ctx: HubContext, mapping: ColumnMapping, *, by: str) -> None:
    """Save (or replace) the column mapping of ``mapping.source``; audited."""
    with ctx.store.write() as session:
        _keep_mapping(ctx, session, mapping, by)
        append_audit(session, at=ctx.now(), actor=by, action="crosscheck.mapping_saved",
                     subject=mapping.source[:80],
                     details={"columns": len(mapping.columns)})  # fmt: skip


def import_file(
    ctx: HubContext,
    path: Path,
    *,
    mapping: ColumnMapping,
    by: str,
    as_of: date | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    file_name: str | None = None,
    dataset_id: str | None = None,
) -> Dataset:
    """Import a register file into a new dataset of the hub's store.

    Imports whose process died are swept away first. The mapping is saved for its
    source once the import committed.

    Raises:
        RegisterFileError: the file cannot be read; nothing is stored.
        MappingError: the mapping does not fit the file's header row; nothing is stored.
    """
    settings = ctx.config.crosscheck
    sweep_abandoned(ctx.store, now=ctx.now(),
                    older_than=timedelta(minutes=settings.abandoned_import_minutes))  # fmt: skip
    writer = DatasetWriter(ctx.store, source=mapping.source, source_kind=mapping.source_kind,
                           now=ctx.now)  # fmt: skip
    dataset = import_register(
        path,
        mapping,
        writer,
        dataset_id=dataset_id or secrets.token_hex(16),
        imported_by=by,
        imported_at=ctx.now(),
        as_of=as_of,
        encoding=encoding,
        sheet=sheet,
        schema=ctx.schema,
        divisions=ctx.divisions,
        chunk_rows=settings.chunk_rows,
        file_name=file_name,
    )
    with ctx.store.write() as session:
        _keep_mapping(ctx, session, mapping, by)
        append_audit(
            session,
            at=ctx.now(),
            actor=by,
            action="crosscheck.imported",
            subject=dataset.dataset_id,
            details={
                "source": dataset.source[:80],
                "rows": dataset.rows_stored,
                "skipped": dataset.rows_skipped,
                "problems": dataset.problem_count,
                "hash": dataset.content_hash,
            },
        )
    return dataset


def require_dataset(ctx: HubContext, dataset_id: str) -> Dataset:
    """A committed dataset.

    Raises:
        NotFoundError: no committed dataset has this id.
    """
    try:
        return StoreDatasets(ctx.store).dataset(dataset_id)
    except KeyError:
        raise NotFoundError(f"no imported register {dataset_id[:40]}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckSummary:
    """What a check found.

    Attributes:
        dataset_id: the dataset checked; ``records`` how many records it was matched with.
        findings: findings found (``new`` of them new, ``reopened`` back after a fix).
        by_kind: findings per kind.
        proposals: proposals for rows without a usable ID number.
        fixed: findings of the source this dataset no longer shows, closed as fixed.
    """

    dataset_id: str
    records: int
    findings: int
    new: int
    reopened: int
    by_kind: tuple[tuple[str, int], ...]
    proposals: int
    fixed: int

    def to_dict(self) -> dict[str, object]:
        return {
            "records": self.records,
            "findings": self.findings,
            "new": self.new,
            "reopened": self.reopened,
            "by_kind": dict(self.by_kind),
            "proposals": self.proposals,
            "fixed": self.fixed,
        }


class _Keeper:
    """Stores findings and proposals a batch (one transaction) at a time."""

    def __init__(self, ctx: HubContext, source: str) -> None:
        self.ctx = ctx
        self.source = source
        self.findings: list[Finding] = []
        self.proposals: list[MatchProposal] = []
        self.kinds: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.proposed = 0

    def add(self, result: Finding | MatchProposal) -> None:
        if isinstance(result, Finding):
            self.findings.append(result)
            self.kinds[result.kind.value] += 1
        else:
            self.proposals.append(result)
        if len(self.findings) + len(self.proposals) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        findings, self.findings = self.findings, []
        proposals, self.proposals = self.proposals, []
        if not findings and not proposals:
            return
        ctx = self.ctx
        with ctx.store.write() as session:
            known = load_known(session, [f.finding_id for f in findings])
            for finding in findings:
                found = record_found(session, finding, origin=ctx.site, at=ctx.now(),
                                     schema=ctx.schema, known=known)  # fmt: skip
                self.outcomes[found.outcome] += 1
            self.proposed += _keep_proposals(session, proposals, self.source)


def _keep_proposals(session: Session, proposals: Iterable[MatchProposal], source: str) -> int:
    wanted = list(proposals)
    if not wanted:
        return 0
    found = session.execute(
        sa.select(RecordRow.record_id, RecordRow.site).where(
            RecordRow.record_id.in_({p.record_id for p in wanted})
        )
    ).all()
    sites: dict[str, str] = {row[0]: row[1] for row in found}
    rows = {p.row for p in wanted}
    held = {
        (row.dataset_id, row.row, row.record_id)
        for row in session.scalars(
            sa.select(ProposalRow).where(
                ProposalRow.dataset_id.in_({p.dataset_id for p in wanted}),
                ProposalRow.row.in_(rows),
            )
        )
    }
    added = 0
    for proposal in wanted:
        key = (proposal.dataset_id, proposal.row, proposal.record_id)
        if key in held:
            continue
        held.add(key)
        session.add(
            ProposalRow(
                dataset_id=proposal.dataset_id,
                row=proposal.row,
                record_id=proposal.record_id,
                source=source,
                division_code=sites.get(proposal.record_id),
                score=proposal.score,
                reasons=",".join(r.value for r in proposal.reasons)[:200],
                state="pending",
            )
        )
        added += 1
    return added


def run_check(
    ctx: HubContext, dataset_id: str, *, by: str, coverage: str | None = None
) -> CheckSummary:
    """Match a dataset against the hub's live records and keep the findings and proposals.

    Args:
        ctx: the hub.
        dataset_id: a committed dataset.
        by: who runs it (audited).
        coverage: the division the register is complete for (docs/crosscheck.md §4):
            records there claiming its implied benefit but not on it are findings.

    Raises:
        NotFoundError: no such dataset.
        MappingError: the dataset's mapping no longer reads.
    """
    dataset = require_dataset(ctx, dataset_id)
    reader = StoreDatasets(ctx.store)
    mapping = ColumnMapping.from_json(dataset.mapping_json)
    settings = ctx.config.crosscheck
    index = index_records(ctx.store, compared_fields(mapping))
    duplicates = frozenset(reader.duplicate_id_numbers(dataset_id))
    implied = {field.value: value for field, value in mapping.implied}
    keeper = _Keeper(ctx, dataset.source)
    for result in check_dataset(dataset, reader.rows(dataset_id), index, duplicates=duplicates,
                                policy=settings.authority, config=settings.match,
                                coverage=coverage, implied=implied or None):  # fmt: skip
        keeper.add(result)
    keeper.flush()
    rechecked = recheck_findings(ctx, source=dataset.source, not_seen_in=dataset_id)
    summary = CheckSummary(
        dataset_id=dataset_id,
        records=len(index),
        findings=sum(keeper.kinds.values()),
        new=keeper.outcomes[FOUND_NEW],
        reopened=keeper.outcomes[FOUND_REOPENED],
        by_kind=tuple(sorted(keeper.kinds.items())),
        proposals=keeper.proposed,
        fixed=rechecked.closed,
    )
    with ctx.store.write() as session:
        row = session.get(DatasetRow, dataset_id, with_for_update=True)
        assert row is not None  # committed datasets are never deleted
        row.checked_at = ctx.now()
        row.check_summary = summary.to_dict()
        append_audit(session, at=ctx.now(), actor=by, action="crosscheck.checked",
                     subject=dataset_id,
                     details={k: v for k, v in summary.to_dict().items()
                              if isinstance(v, int)})  # fmt: skip
    return summary
