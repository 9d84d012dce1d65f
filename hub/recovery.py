"""Recovering a hub whose key is lost, with the province recovery identity (escrow).

Every bundle sealed to a hub is also sealed to the province recovery key
(:mod:`hub.escrow`), so losing the hub's key (a destroyed keystore, a forgotten
passphrase) loses no data. docs/operations.md ("Escrow recovery") is the procedure;
these are its steps:

1. :func:`rekey` — new keys in the data directory (the old keystore, if any, is kept
   aside) and a new enrollment request: the lost key cannot vouch for a successor, so
   the parent's administrator approves it as a new enrollment, and revokes the lost
   key's certificate (``superseded`` if the key is only lost, so what it signed before
   stays valid; ``key_compromise`` if it may have been stolen);
2. the parent's answer is installed as any (``muster hub enroll``,
   :func:`hub.upward.enrollment.install_answer`);
3. :func:`recertify_children` — every child and person this hub certified, again under
   the new key (their old certificates chain through the lost one), with an enrollment
   answer for each: the children re-enroll with it (online, by sending their request
   again, or from a file);
4. :func:`restore_bundles` — with the recovery identity in memory only, the raw bundles
   that wait on the lost key are opened: held ones (received, parked, staged, approved)
   go through the pipeline again, and bundles still in flight (USB sticks, a node's
   outbox) are taken in and processed. The recovery identity is never stored on the hub.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from crypto.age import AgeIdentity
from crypto.keystore import KDF_MODERATE, KdfCost
from hub.audit import append_audit
from hub.config import HubConfig
from hub.context import HubContext
from hub.fromparent import apply_parked_from_parent, import_down_file
from hub.intake import take_in
from hub.pipeline import run_once
from hub.rawstore import store_file
from hub.rotation import recertify
from hub.sites import enrollment_answer
from hub.store.models import CertificateRow, EnrollmentRow
from hub.trust import install_certificates
from node.fsutil import write_atomic
from node.keyfiles import KeyDir
from protocol.trust import Certificate, Role
from protocol.trust.enrollment import make_enrollment_request

__all__ = [
    "RestoreReport",
    "recertify_children",
    "rekey",
    "restore_bundles",
]

_REQUEST_FILE = "enrollment-request.json"


def _unused_lost_name(directory: Path, now: datetime) -> Path:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"lost-{stamp}.json"
    number = 1
    while path.exists():
        number += 1
        path = directory / f"lost-{stamp}-{number}.json"
    return path


def rekey(config: HubConfig, passphrase: bytes, *, cost: KdfCost = KDF_MODERATE) -> bytes:
    """New keys for a hub whose key is lost; return its new enrollment request.

    The old keystore, if there is one, is moved to ``keys/lost-<time>.json`` (with
    ``-2``, ``-3``… when a rekey in the same second already used the name: a saved
    keystore is never overwritten).
    """
    keys = KeyDir(config.keys_dir)
    if keys.keystore.exists():
        keys.keystore.rename(_unused_lost_name(config.keys_dir, datetime.now(UTC)))
    new = keys.create(passphrase, owner=config.site, cost=cost)
    request = make_enrollment_request(
        new.signing,
        subject=config.site,
        role=Role.HUB,
        name=config.name,
        at=datetime.now(UTC),
        age=new.age.recipient,
    )
    data = request.to_bytes()
    write_atomic(config.data_dir / _REQUEST_FILE, data, mode=0o644)
    return data


def recertify_children(ctx: HubContext, directory: Path) -> list[Path]:
    """Certify again, under the current key, everyone this hub certified under an older
    one; write an enrollment answer per subject into ``directory``; return the files.

    A child that sends its enrollment request again gets the new answer online.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = ctx.now()
    written = []
    with ctx.store.write() as session:
        renewed = recertify(ctx, session, issuer_key=ctx.keys.signing, now=now)
        install_certificates(session, renewed, source="issued")
        for cert in renewed:
            _point_enrollment(session, cert)
            answer = enrollment_answer(ctx, session, cert)
            path = directory / f"{cert.subject.replace('/', '_')}.json"
            write_atomic(path, answer.to_bytes(), mode=0o644)
            written.append(path)
        append_audit(
            session,
            at=now,
            actor=ctx.site,
            action="hub.recertified",
            subject=ctx.site,
            details={"certificates": len(renewed)},
        )
    return written


def _point_enrollment(session: sa.orm.Session, cert: Certificate) -> None:
    """The child's approved request now answers with the new certificate."""
    old = session.scalars(
        sa.select(CertificateRow.serial).where(
            CertificateRow.subject == cert.subject, CertificateRow.serial != cert.serial
        )
    ).all()
    for row in session.scalars(
        sa.select(EnrollmentRow).where(
            EnrollmentRow.serial.in_(old), EnrollmentRow.state == "approved"
        )
    ):
        row.serial = cert.serial


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreReport:
    """What :func:`restore_bundles` did: files taken in (by outcome) and pipeline steps."""

    files: tuple[tuple[str, str], ...]
    steps: int
    parent_bundles: int


def restore_bundles(
    ctx: HubContext, recovery: AgeIdentity, files: Iterable[Path] = ()
) -> RestoreReport:
    """Open what waits on the lost key with the recovery identity (held in memory only):
    take in ``files`` (bundles still in flight), then run the pipeline and the parent's
    parked bundles until nothing waits."""
    work = dataclasses.replace(ctx, retired_ages=(*ctx.retired_ages, recovery), _trust=None)
    outcomes = []
    for path in files:
        down = import_down_file(work, path)
        if down is not None:
            outcomes.append((str(path), down.outcome))
            continue
        with path.open("rb") as source:
            stored = store_file(
                source,
                directory=work.config.bundles_dir,
                scratch=work.config.scratch_dir,
                limit=work.config.max_bundle_bytes,
            )
        outcomes.append((str(path), take_in(work, stored, source="file").status))
    steps = 0
    while run_once(work):
        steps += 1
    parked = apply_parked_from_parent(work)
    return RestoreReport(files=tuple(outcomes), steps=steps, parent_bundles=parked)
