"""The province's output for the ministry (docs/reports.md §8.7): ``muster hub report --ministry``.

A folder ``ministry-<site>-<period>/`` holding:

- the province-wide package of all merged records: every op the province merged (from
  the cities' packages and its own resolutions), as a series of ``package`` bundles
  from the province hub to the ministry (recipient id ``000000``: the national level,
  no GB/T 2260 division), seq 1, 2 … chained by the previous bundle's hash, each
  bounded like a package to the parent (``package_max_ops``). Each carries what the
  ministry needs to check it as a parent hub would: the certificates, the revocation
  lists issued in the province, the kept manifests of every batch its ops came in
  (each op authorised at its origin) and its own manifest, authorised by a province
  administrator. Signed by the province hub, encrypted to ``ministry_recipient`` and
  the escrow recipients. Photos and scans are not included (they would make the
  package hundreds of gigabytes; the ministry asks for them by content id);
- the summary workbook of the report;
- ``MANIFEST.json``: the files with their SHA-256 and sizes, the counts, the period.

Everything is written to a temporary folder first and renamed into place at the end,
so a failed run leaves no partial output; the run is audited (counts and hashes).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import msgpack
import sqlalchemy as sa

from crypto.age import AgeRecipient
from crypto.errors import StateError
from hub.audit import append_audit
from hub.context import HubContext
from hub.escrow import escrow_recipients
from hub.store.models import OpBatch, RecordRow
from hub.upward.adminkey import AdminSigner
from hub.upward.oplog import Cursor, LoggedOp, ops_between
from hub.upward.provenance import (
    carried_manifests,
    certificates_for,
    crls_below,
    resolution_manifest,
)
from node.reports.errors import ReportWriteError
from node.reports.report import Report
from node.reports.xlsx import write_xlsx
from protocol.bundle import BundleKind, seal_bundle
from protocol.entries import EntryTag, Manifest, encode_entry
from protocol.ops import STATUS_LIVE
from protocol.trust import Role, authorise, verify_authorisation

__all__ = ["MINISTRY_ID", "MinistryOutput", "require_recipient", "write_ministry_output"]

#: The ministry's id in the bundles' headers: the national level.
MINISTRY_ID: Final = "000000"
_MANIFEST: Final = "MANIFEST.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class MinistryOutput:
    """What was written: the folder, its package bundles and workbook, and the counts."""

    folder: Path
    bundles: tuple[Path, ...]
    workbook: Path
    ops: int
    records: int


def require_recipient(ctx: HubContext) -> AgeRecipient:
    """The ministry's age recipient.

    Raises:
        StateError: none is configured (``ministry_recipient`` in hub.toml).
    """
    if not ctx.config.ministry_recipient:
        raise StateError(
            f"hub {ctx.site}: no ministry_recipient in hub.toml: the package would have "
            "no one to be encrypted to"
        )
    return AgeRecipient(ctx.config.ministry_recipient)


def _recipients(ctx: HubContext, session: Any) -> list[AgeRecipient]:
    return [require_recipient(ctx), *escrow_recipients(ctx, session)]


def _chunks(session: Any, size: int) -> Iterator[list[LoggedOp]]:
    chunk: list[LoggedOp] = []
    for op in ops_between(session, Cursor()):
        chunk.append(op)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _give_resolutions_provenance(ctx: HubContext, signer: AdminSigner) -> None:
    """Resolutions made here get their manifest first (as a package to the parent does)."""
    with ctx.store.write() as session:
        bundles = session.scalars(
            sa.select(OpBatch.bundle).where(OpBatch.source == "resolution").distinct()
        ).all()
        for bundle in sorted(bundles):
            resolution_manifest(session, site=ctx.site, bundle=bundle, signer=signer, at=ctx.now())


def _seal(
    ctx: HubContext,
    session: Any,
    ops: list[LoggedOp],
    *,
    folder: Path,
    position: tuple[int, str | None],
    signer: AdminSigner,
) -> tuple[Path, str]:
    """Seal one package of ``ops``; return its file and hash."""
    seq, prev = position
    now, store = ctx.now(), ctx.trust(session)
    op_ids = [op.op_id for op in ops]
    auth = authorise(key=signer.key, by=signer.subject, batch_id=secrets.token_hex(16),
                     origin=ctx.site, op_ids=op_ids, signed_at=now)  # fmt: skip
    verify_authorisation(auth, op_ids=op_ids, store=store, origin=ctx.site, role=Role.ADMIN)
    own = Manifest(batch_id=auth.batch_id, origin=ctx.site, op_ids=tuple(op_ids), auth=auth)
    carried = carried_manifests(session, ops)

    def entries() -> Iterator[Any]:
        yield from (encode_entry(c) for c in certificates_for(store, [*carried, own]))
        yield from (encode_entry(c) for c in crls_below(session, ctx.site))
        yield from (encode_entry(m) for m in carried)
        yield encode_entry(own)
        for op in ops:
            yield [EntryTag.OP.value, msgpack.unpackb(op.raw, raw=False)]

    path = folder / f"{ctx.site}-{MINISTRY_ID}-{seq:06d}.bundle"
    with path.open("wb") as out, tempfile.TemporaryFile(dir=ctx.config.scratch_dir) as spool:
        sealed = seal_bundle(
            entries(),
            kind=BundleKind.PACKAGE,
            sender=ctx.site,
            recipient=MINISTRY_ID,
            seq=seq,
            prev=prev,
            created=now,
            bundle_id=secrets.token_hex(16),
            signer=ctx.keys.signing,
            recipients=_recipients(ctx, session),
            out=out,
            spool=spool,
            schema=ctx.schema.version,
            auth=auth.to_dict(),
            limits=ctx.config.limits,
        )
    return path, sealed.bundle_hash


def _digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            hasher.update(block)
    return hasher.hexdigest()


def _write(ctx: HubContext, report: Report, staging: Path, signer: AdminSigner) -> dict[str, Any]:
    _give_resolutions_provenance(ctx, signer)
    bundles: list[dict[str, Any]] = []
    total, prev = 0, None
    with ctx.store.read() as session:
        _recipients(ctx, session)  # refuse before anything is sealed
        for seq, ops in enumerate(_chunks(session, ctx.config.package_max_ops), start=1):
            path, prev = _seal(ctx, session, ops, folder=staging, position=(seq, prev),
                               signer=signer)  # fmt: skip
            total += len(ops)
            bundles.append({"file": path.name, "seq": seq, "ops": len(ops), "hash": prev,
                            "sha256": _digest(path), "size": path.stat().st_size})  # fmt: skip
        records = session.scalar(
            sa.select(sa.func.count()).select_from(RecordRow).where(RecordRow.status == STATUS_LIVE)
        )
    stem = f"report-{report.site_code}-{report.period}".replace("..", "_")
    workbook = write_xlsx(report, staging / f"{stem}.xlsx")
    return {
        "site": ctx.site,
        "recipient": MINISTRY_ID,
        "period": str(report.period),
        "created": ctx.now().isoformat(),
        "schema": ctx.schema.version,
        "records": int(records or 0),
        "ops": total,
        "authorised_by": signer.subject,
        "bundles": bundles,
        "workbook": {"file": workbook.name, "sha256": _digest(workbook)},
    }


def write_ministry_output(
    ctx: HubContext, report: Report, out: Path, *, signer: AdminSigner
) -> MinistryOutput:
    """Write the ministry's folder into ``out`` (replacing an earlier one of the same period).

    Raises:
        StateError: no ``ministry_recipient`` is configured.
        TrustError: an op has no provenance, or ``signer`` may not authorise for this hub.
        ReportWriteError: the folder cannot be written; nothing is left of this run.
    """
    out.mkdir(parents=True, exist_ok=True)
    ctx.config.scratch_dir.mkdir(parents=True, exist_ok=True)
    folder = out / f"ministry-{report.site_code}-{report.period}".replace("..", "_")
    staging = Path(tempfile.mkdtemp(prefix=".ministry-", dir=out))
    try:
        manifest = _write(ctx, report, staging, signer)
        (staging / _MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8"
        )
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ReportWriteError(
            f"ministry output: cannot write into the output folder ({exc.strerror})",
            errno=exc.errno,
        ) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        with ctx.store.write() as session:
            append_audit(
                session, at=ctx.now(), actor=manifest["authorised_by"], action="report.ministry",
                subject=str(report.period),
                details={"bundles": len(manifest["bundles"]), "ops": manifest["ops"],
                         "records": manifest["records"],
                         "hashes": [b["hash"] for b in manifest["bundles"]]},
            )  # fmt: skip
    except BaseException:
        # No output for the ministry without its audit entry.
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return MinistryOutput(
        folder=folder,
        bundles=tuple(folder / b["file"] for b in manifest["bundles"]),
        workbook=folder / manifest["workbook"]["file"],
        ops=manifest["ops"],
        records=manifest["records"],
    )
