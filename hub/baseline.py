"""Baseline import: the existing national system's records as the campaign's starting point.

``muster hub baseline import FILE [--mapping FILE] [--source NAME]`` reads a CSV or
XLSX file with the cross-check's reader and column mappings (:mod:`hub.crosscheck`:
the same encodings, header search, cell parsing and mapping JSON), and for each row:

1. builds the record's values (the mapped fields the schema knows, the ID number);
2. validates them (:func:`protocol.validation.validate_record`): a baseline is
   incomplete by nature (no photo, no signature), so missing fields are fine, but a
   value that breaks a rule, an ID number that disagrees with the birth date, a row
   without an ID number, name, category or household registration, or a household
   registration outside this hub's jurisdiction is refused — reported by row, field
   and rule, never by value;
3. skips a person whose ID number a live record here already holds (or an earlier row
   of the file held);
4. makes a ``create`` op authored by this hub.

When the whole file has been read, in one transaction: the ops are grouped by the
town of the household registration, each town's ops become one batch authorised by a
hub administrator (provenance: docs/federation.md §3), are applied here (each record
belongs to its town's site), and are routed down — one ``baseline`` bundle per child
hub, which re-issues per district, which re-issues per town node
(:mod:`hub.reissue`, :mod:`hub.fromparent`). A file imported once is refused the
second time (by its content hash); a file that fails to read changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crypto.sign import SigningKey
from hub.audit import append_audit
from hub.baselinerows import HLC_KEY, BaselineIssue, OpCollector
from hub.context import HubContext, set_state
from hub.crosscheck import ColumnMapping, RegisterField, SourceKind, import_register
from hub.crosscheck.dataset import Dataset
from hub.crosscheck.errors import MappingError
from hub.crosscheck.mapping import propose_mapping
from hub.crosscheck.reading import read_headers
from hub.errors import AlreadyDecidedError
from hub.reissue import Reissue
from hub.states import BundleState
from hub.store.models import BundleRow
from hub.upward.provenance import keep_manifest
from protocol.bundle import BundleKind
from protocol.entries import Manifest
from protocol.trust import Authorisation, Role, authorise, verify_authorisation

__all__ = ["BaselineAdmin", "BaselineIssue", "BaselineReport", "import_baseline"]

#: The columns a baseline cannot do without.
REQUIRED_FIELDS: Final = (
    RegisterField.ID_NUMBER,
    RegisterField.NAME,
    RegisterField.HUKOU_DIVISION_CODE,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineAdmin:
    """The hub administrator whose key authorises the baseline batches.

    Attributes:
        subject: their id (``370000/zhang.min``), certified ``admin`` by this hub.
        key: their unlocked signing key.
    """

    subject: str
    key: SigningKey


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineReport:
    """What an import did.

    Attributes:
        source: the register's name.
        rows_read: data rows read (blank rows excluded).
        records: records created (one create op each).
        refused: rows refused (a value breaks a rule, or a needed field is missing).
        already_held: rows skipped because their ID number is held here already.
        batches: authorised batches (one per town).
        children: down bundles queued, per child.
        unrouted: records no child serves (kept here only).
        issues: the first refused or skipped rows, with why.
    """

    source: str
    rows_read: int
    records: int
    refused: int
    already_held: int
    batches: int
    children: tuple[tuple[str, int], ...]
    unrouted: int
    issues: tuple[BaselineIssue, ...]


def _mapping_for(
    path: Path, mapping: ColumnMapping | None, source: str, encoding: str | None, sheet: str | None
) -> ColumnMapping:
    if mapping is None:
        headers = read_headers(path, encoding=encoding, sheet=sheet)
        mapping = propose_mapping(headers, source=source, source_kind=SourceKind.OTHER)
    missing = [f.value for f in REQUIRED_FIELDS if f not in mapping.fields]
    if missing:
        raise MappingError(
            f"baseline mapping for {mapping.source}: expected columns for "
            f"{', '.join(missing)}; the mapping has none",
            field=missing[0],
        )
    return mapping


def import_baseline(
    ctx: HubContext,
    path: Path,
    *,
    admin: BaselineAdmin,
    source: str,
    mapping: ColumnMapping | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> BaselineReport:
    """Import a baseline file, apply it here and send it down (see the module docstring).

    Raises:
        RegisterFileError: the file cannot be read as a whole; nothing changed.
        MappingError: the mapping does not fit the file, or lacks a needed column.
        AlreadyDecidedError: this file was imported already.
        AuthorisationError, TrustError: the administrator's key cannot authorise here.
        NoEscrowError: the hub holds no province recovery key to seal to.
    """
    mapping = _mapping_for(path, mapping, source, encoding, sheet)
    ctx.config.scratch_dir.mkdir(parents=True, exist_ok=True)
    collect = OpCollector(ctx, admin.subject, ctx.config.scratch_dir)
    try:
        dataset = import_register(
            path,
            mapping,
            collect,
            dataset_id=secrets.token_hex(16),
            imported_by=admin.subject,
            imported_at=ctx.now(),
            encoding=encoding,
            sheet=sheet,
            schema=ctx.schema,
            divisions=ctx.divisions,
        )
        with ctx.store.writer() as session:
            ctx.store.lock_merges(session)
            summary, batches = _commit(
                ctx, session, collect=collect, dataset=dataset, admin=admin, source=mapping.source
            )
            session.commit()
    finally:
        collect.close()
    children = summary.get("children", {})
    return BaselineReport(
        source=mapping.source,
        rows_read=dataset.rows_read,
        records=collect.records,
        refused=collect.refused + dataset.rows_skipped,
        already_held=collect.already_held,
        batches=batches,
        children=tuple(sorted(children.items())),
        unrouted=int(summary.get("unrouted", 0)),
        issues=tuple(collect.issues),
    )


def _commit(
    ctx: HubContext,
    session: Session,
    *,
    collect: OpCollector,
    dataset: Dataset,
    admin: BaselineAdmin,
    source: str,
) -> tuple[dict[str, Any], int]:
    digest = dataset.content_hash.removeprefix("b2:")
    if session.scalar(sa.select(BundleRow.id).where(BundleRow.bundle_hash == digest)):
        raise AlreadyDecidedError(f"baseline file {dataset.file_name} was imported already")
    now = ctx.now()
    row = BundleRow(
        bundle_hash=digest,
        size=0,
        source="file",
        received_at=now,
        state=BundleState.MERGED.value,
        bundle_id=dataset.dataset_id,
        kind=BundleKind.BASELINE.value,
        sender=ctx.site,
        recipient=ctx.site,
        created=now,
        count=collect.records,
        merged_at=now,
        attempts=0,
        approver=admin.subject,
        decided_by=admin.subject,
    )
    session.add(row)
    session.flush()
    # Logged as a bundle's ops with the batches' manifests kept: a city's (or a
    # district's) baseline travels up in its packages with its provenance.
    work = Reissue(
        ctx,
        session,
        BundleKind.BASELINE,
        row=lambda: row.id,
        source="bundle",
        actor=admin.subject,
    )
    batches = 0
    try:
        for town in collect.towns():
            op_ids = collect.op_ids_of(town)
            batch = secrets.token_hex(16)
            auth = authorise(
                key=admin.key,
                by=admin.subject,
                batch_id=batch,
                origin=ctx.site,
                op_ids=op_ids,
                signed_at=now,
            )
            _check_admin(ctx, session, auth)
            manifest = Manifest(batch_id=batch, origin=ctx.site, op_ids=tuple(op_ids), auth=auth)
            keep_manifest(session, bundle=row.id, source="bundle", manifest=manifest, auth=auth)
            work.add(manifest)
            for op in collect.ops_of(town):
                work.add(op)
            work.end_batch()
            batches += 1
        summary = work.finish(about=row.id)
    finally:
        work.close()
    if collect.clock.last is not None:
        set_state(session, HLC_KEY, collect.clock.last.encode())
    row.summary = {
        "source": source,
        **{k: v for k, v in summary.items() if k != "children"},
        "batches": batches,
        "bundles": sum(summary.get("children", {}).values()),
    }
    append_audit(
        session,
        at=now,
        actor=admin.subject,
        action="baseline.imported",
        subject=dataset.dataset_id,
        details={
            "records": collect.records,
            "batches": batches,
            "refused": collect.refused,
            "unrouted": summary.get("unrouted", 0),
        },
    )
    return summary, batches


def _check_admin(ctx: HubContext, session: Session, auth: Authorisation) -> None:
    """The administrator must be able to authorise this hub's batches (as the parent will
    check): an ``admin`` certificate for a site holding this hub, valid now."""
    verify_authorisation(
        auth, op_ids=None, store=ctx.trust(session), origin=ctx.site, role=Role.ADMIN
    )
