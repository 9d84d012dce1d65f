"""``muster hub …`` commands of the federation downward and of trust (registered by hub/cli.py).

- ``hub baseline import FILE --data DIR --admin-key KEYDIR [--mapping FILE] [--source NAME]``:
  load the existing national system's records and send each down to the node(s) of the
  person's household registration (hub/baseline.py);
- ``hub revoke (SERIAL | --subject ID) --reason REASON --data DIR``: revoke a
  certificate this hub issued; the list goes down to every child and up in packages;
- ``hub rotate-keys --data DIR [--answer FILE]``: roll the hub's keys (a request for the
  parent; online when ``parent_url`` is set), then install the answer;
- ``hub certify-rotation REQUEST --out ANSWER --data DIR``: at the parent, certify a
  child's new keys from a request brought on a USB stick;
- ``hub escrow install FILE --data DIR`` / ``hub escrow show --data DIR``: the
  province's escrow statement (the province installs the one its key ceremony made);
- ``hub recover rekey|certify-children|bundles --data DIR …``: recovery of a hub whose
  key is lost (docs/operations.md, "Escrow recovery").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import sqlalchemy as sa

from crypto.age import AgeIdentity
from crypto.errors import InputError, KeyFormatError, UsageError
from hub.baseline import BaselineAdmin, import_baseline
from hub.config import HubConfig
from hub.context import HubContext
from hub.crosscheck.mapping import ColumnMapping
from hub.escrow import escrow_statement, install_escrow
from hub.recovery import recertify_children, rekey, restore_bundles
from hub.rotation import begin_hub_rotation, finish_hub_rotation, submit_rotation
from hub.runtime import open_context
from hub.sites import enrollment_status, revoke
from hub.store.models import CertificateRow
from node.cli.common import unlock_key_dir
from node.fsutil import write_atomic
from node.keyfiles import KeyDir, read_passphrase
from node.services.client import HubClient
from protocol.trust import RevocationReason
from protocol.trust.escrow import EscrowStatement

__all__ = ["register_downward"]


def register_downward(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the downward and trust commands to the ``hub`` group."""
    baseline = cmds.add_parser("baseline", help="baseline records for the sites below")
    base = baseline.add_subparsers(dest="baseline_command", metavar="BASELINE_COMMAND")
    base.required = True
    imp = base.add_parser("import", help="import a CSV/XLSX file and send it down")
    imp.add_argument("file", type=Path)
    _data(imp)
    imp.add_argument("--mapping", type=Path, help="a column mapping (JSON, as the cross-check's)")
    imp.add_argument("--source", default="baseline", help="the register's name")
    imp.add_argument(
        "--admin-key",
        required=True,
        type=Path,
        help="the authorising administrator's key directory",
    )
    imp.add_argument("--admin-passphrase-file", help="that key's passphrase")
    imp.add_argument("--encoding", help="force the CSV's text encoding (gbk, utf-8)")
    imp.add_argument("--sheet", help="the XLSX worksheet (default: the first)")
    imp.set_defaults(func=_baseline_import)

    rev = cmds.add_parser("revoke", help="revoke a certificate this hub issued")
    rev.add_argument("serial", nargs="?", help="the certificate's serial")
    rev.add_argument("--subject", help="or: the newest certificate of this node, hub or person")
    rev.add_argument("--reason", required=True, choices=[r.value for r in RevocationReason])
    rev.add_argument("--by", default="cli", help="who revokes (for the audit log)")
    _data(rev)
    rev.set_defaults(func=_revoke)

    cert = cmds.add_parser("certify-rotation", help="certify a child's new keys from a file")
    cert.add_argument("request", type=Path, help="the child's rotation-request.json")
    cert.add_argument("--out", required=True, type=Path, help="where the answer is written")
    _data(cert)
    cert.set_defaults(func=_certify_rotation)

    rot = cmds.add_parser("rotate-keys", help="roll the hub's keys (certified by the parent)")
    rot.add_argument("--answer", type=Path, help="install the parent's answer from a file")
    _data(rot)
    rot.set_defaults(func=_rotate)

    escrow = cmds.add_parser("escrow", help="the province's recovery key (escrow statement)")
    esc = escrow.add_subparsers(dest="escrow_command", metavar="ESCROW_COMMAND")
    esc.required = True
    install = esc.add_parser("install", help="install an escrow statement")
    install.add_argument("file", type=Path)
    _data(install)
    install.set_defaults(func=_escrow_install)
    show = esc.add_parser("show", help="print the escrow statement this hub holds")
    _data(show)
    show.set_defaults(func=_escrow_show)

    recover = cmds.add_parser("recover", help="recover a hub whose key is lost")
    rec = recover.add_subparsers(dest="recover_command", metavar="RECOVER_COMMAND")
    rec.required = True
    rk = rec.add_parser("rekey", help="new keys and a new enrollment request")
    _data(rk)
    rk.set_defaults(func=_rekey)
    cc = rec.add_parser("certify-children", help="certify the children again, new key")
    cc.add_argument("--to", required=True, type=Path, help="where the answers are written")
    _data(cc)
    cc.set_defaults(func=_certify_children)
    rb = rec.add_parser("bundles", help="open waiting and in-flight bundles (recovery key)")
    rb.add_argument("files", nargs="*", type=Path, help="bundles still in flight")
    rb.add_argument(
        "--identity",
        required=True,
        type=Path,
        help="the province recovery identity (age secret key file)",
    )
    _data(rb)
    rb.set_defaults(func=_restore)


def _data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="the hub's data directory")
    parser.add_argument("--passphrase-file", help="file whose first line is the key passphrase")


def _context(args: argparse.Namespace) -> HubContext:
    return open_context(HubConfig.load(args.data), read_passphrase(args.passphrase_file))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path} ({exc.strerror})") from exc


def _baseline_import(args: argparse.Namespace) -> int:
    ctx = _context(args)
    keydir = KeyDir(args.admin_key)
    try:
        subject = keydir.owner()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{args.admin_key}: not a key directory with a readable id file") from exc
    if subject is None or "/" not in subject:
        raise InputError(f"{args.admin_key}: its id file must name a person (site/login)")
    key = unlock_key_dir(args.admin_key, read_passphrase(args.admin_passphrase_file)).signing
    mapping = ColumnMapping.from_json(_read(args.mapping)) if args.mapping else None
    report = import_baseline(
        ctx,
        args.file,
        admin=BaselineAdmin(subject=subject, key=key),
        source=args.source,
        mapping=mapping,
        encoding=args.encoding,
        sheet=args.sheet,
    )
    print(
        f"{report.source}: {report.rows_read} rows read, {report.records} records, "
        f"{report.refused} refused, {report.already_held} already held, "
        f"{report.batches} batches, {report.unrouted} kept here (no site below serves them)"
    )
    for child, bundles in report.children:
        print(f"  {child}: {bundles} baseline bundle(s)")
    for issue in report.issues[:20]:
        print(f"  row {issue.row}: {issue.field or '-'} {issue.code}", file=sys.stderr)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    ctx = _context(args)
    serial = args.serial
    if (serial is None) == (args.subject is None):
        raise UsageError("give a SERIAL or --subject ID (one of them)")
    if serial is None:
        with ctx.store.read() as session:
            rows = session.scalars(
                sa.select(CertificateRow.serial)
                .where(
                    CertificateRow.subject == args.subject,
                    CertificateRow.issuer == ctx.site,
                    CertificateRow.revoked_at.is_(None),
                )
                .order_by(CertificateRow.not_before.desc(), CertificateRow.not_after.desc())
            ).all()
        if not rows:
            raise InputError(f"no unrevoked certificate of {args.subject} issued by {ctx.site}")
        serial = rows[0]
    crl = revoke(ctx, serial, reason=RevocationReason(args.reason), by=args.by)
    print(
        f"certificate {serial} revoked ({args.reason}); revocation list {crl.number} "
        "sent down to every child, and up with the next package"
    )
    return 0


def _rotate(args: argparse.Namespace) -> int:
    passphrase = read_passphrase(args.passphrase_file)
    ctx = open_context(HubConfig.load(args.data), passphrase)
    if args.answer is not None:
        cert = finish_hub_rotation(ctx, passphrase, _read(args.answer))
        print(f"new certificate {cert.serial} installed; restart the hub to use the new keys")
        return 0
    request = begin_hub_rotation(ctx, passphrase)
    url = ctx.config.parent_url
    if not url:
        print(
            f"rotation request written to {args.data / 'rotation-request.json'}: take it "
            "to the parent hub, then run `muster hub rotate-keys --answer FILE`"
        )
        return 0
    poll = asyncio.run(_ask(ctx, url, request))
    if poll is None:
        print("the parent has not answered yet: run `muster hub rotate-keys` again")
        return 0
    cert = finish_hub_rotation(ctx, passphrase, poll)
    print(f"new certificate {cert.serial} installed; restart the hub to use the new keys")
    return 0


async def _ask(ctx: HubContext, url: str, request: bytes) -> bytes | None:
    async with HubClient(url, subject=ctx.site, key=ctx.keys.signing, now=ctx.now) as client:
        poll = await client.enrollment(await client.post_enrollment(request))
    if poll.status == "refused":
        raise InputError(f"the parent refused the rotation: {poll.reason}")
    return json.dumps(poll.answer).encode() if poll.answer is not None else None


def _certify_rotation(args: argparse.Namespace) -> int:
    ctx = _context(args)
    info = submit_rotation(ctx, _read(args.request))
    _state, answer, _reason = enrollment_status(ctx, info.id)
    if answer is None:
        raise InputError(f"rotation of {info.subject}: not certified ({info.state})")
    write_atomic(args.out, answer.to_bytes(), mode=0o644)
    print(f"new certificate {answer.certificate.serial} for {info.subject}: {args.out}")
    return 0


def _escrow_install(args: argparse.Namespace) -> int:
    ctx = _context(args)
    statement = EscrowStatement.from_bytes(_read(args.file))
    with ctx.store.write() as session:
        kept = install_escrow(ctx, session, statement)
    print("escrow statement installed" if kept else "a newer escrow statement is held already")
    return 0


def _escrow_show(args: argparse.Namespace) -> int:
    ctx = _context(args)
    with ctx.store.read() as session:
        statement = escrow_statement(session)
    if statement is None:
        print("no escrow statement: this hub seals to no recovery key", file=sys.stderr)
        return 1
    sys.stdout.write(statement.to_bytes().decode("utf-8"))
    return 0


def _rekey(args: argparse.Namespace) -> int:
    config = HubConfig.load(args.data)
    rekey(config, read_passphrase(args.passphrase_file, confirm=True))
    print(
        f"new keys made; send {args.data / 'enrollment-request.json'} to the parent hub, "
        "then run `muster hub enroll ANSWER`"
    )
    return 0


def _certify_children(args: argparse.Namespace) -> int:
    written = recertify_children(_context(args), args.to)
    print(f"{len(written)} certificates issued again; their answers are in {args.to}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    try:
        text = _read(args.identity).decode("utf-8")
        [line] = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        recovery = AgeIdentity(line)
    except (KeyFormatError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{args.identity}: expected an age identity file") from exc
    report = restore_bundles(_context(args), recovery, args.files)
    for path, outcome in report.files:
        print(f"{path}: {outcome}")
    print(f"{report.steps} pipeline steps, {report.parent_bundles} bundles from the parent")
    return 0
