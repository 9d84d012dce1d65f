"""The ``muster node`` command group: set up, enroll, run and operate a collection point.

Every command but ``init`` works on an existing data directory (``--data DIR``, or
``$MUSTER_DATA``) and unlocks it with the node passphrase (``--passphrase-file``,
``$MUSTER_PASSPHRASE_FILE``, or a prompt). docs/node.md describes each command; the
collector driver contributes ``read-card`` (:func:`node.collector.cli.add_read_card`).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Final

from crypto.errors import InputError, UsageError
from node.cli.common import (
    KDF_COSTS,
    add_kdf_argument,
    add_passphrase_argument,
    passphrase_from,
    print_json,
)
from node.collector.cli import add_read_card
from node.errors import FormError
from node.services import NodeServices, init_node
from node.services.values import AccountRole, NodeStatus

__all__ = ["DATA_ENV", "register"]

#: The data directory when ``--data`` is not given.
DATA_ENV: Final = "MUSTER_DATA"
#: A file holding a new account's password (first line), when no terminal is at hand.
PASSWORD_ENV: Final = "MUSTER_PASSWORD_FILE"  # noqa: S105 - the variable's name


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``node`` command group."""
    group = sub.add_parser("node", help="set up, run and operate a collection point")
    commands = group.add_subparsers(dest="node_command", metavar="COMMAND")
    commands.required = True

    init = commands.add_parser("init", help="make a node: keys, encrypted store, first admin")
    init.add_argument("--site", required=True, help="the collection point's division code")
    init.add_argument("--machine", type=int, default=1, help="this machine's number (1-99)")
    init.add_argument("--name", required=True, help="the collection point's name")
    init.add_argument("--data", type=Path, required=True, metavar="DIR", help="a new directory")
    init.add_argument(
        "--root",
        type=Path,
        required=True,
        metavar="ANCHOR_FILE",
        help="the province root anchor (muster-anchor JSON)",
    )
    init.add_argument("--parent-url", help="the parent hub's URL (leave out: USB only)")
    init.add_argument("--admin", default="admin", help="the first site administrator's login")
    init.add_argument("--admin-name", default="站点管理员", help="their display name")
    init.add_argument(
        "--admin-password-file",
        metavar="FILE",
        help=f"their password (default: ${PASSWORD_ENV}, else a prompt)",
    )
    add_passphrase_argument(init)
    add_kdf_argument(init)
    init.set_defaults(func=_init)

    enroll = _command(commands, "enroll", "install the parent hub's enrollment answer")
    how = enroll.add_mutually_exclusive_group(required=True)
    how.add_argument("answer", type=Path, nargs="?", metavar="FILE", help="the answer file")
    how.add_argument(
        "--online",
        action="store_true",
        help="send the request to parent_url and install the answer once approved",
    )
    enroll.set_defaults(func=_enroll)

    rotate = _command(commands, "rotate-keys", "roll the node's keys (the parent certifies them)")
    rotate.add_argument("--answer", type=Path, metavar="FILE", help="install the parent's answer")
    rotate.set_defaults(func=_rotate_keys)

    run = _command(commands, "run", "serve the operator UI and sync on schedule")
    run.add_argument("--host", help="address to bind (default: listen_host, 127.0.0.1)")
    run.add_argument("--port", type=int, help="port (default: listen_port)")
    run.set_defaults(func=_run)

    sync = _command(commands, "sync", "sync with the parent hub now")
    sync.set_defaults(func=_sync)

    status = _command(commands, "status", "counts, outbox and last sync")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=_status)

    export = _command(commands, "export", "write pending bundles for a USB stick")
    export.add_argument("--to", type=Path, required=True, metavar="DIR")
    export.set_defaults(func=_export)

    import_ = _command(commands, "import", "apply bundles and receipts from a USB stick")
    import_.add_argument("files", type=Path, nargs="+", metavar="FILE")
    import_.set_defaults(func=_import)

    account = commands.add_parser("account", help="operator accounts")
    actions = account.add_subparsers(dest="account_command", metavar="ACTION")
    actions.required = True
    add = _command(actions, "add", "add a collector, approver or site administrator")
    add.add_argument("login")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--role", required=True, choices=[r.value for r in AccountRole])
    add.add_argument(
        "--password-file",
        metavar="FILE",
        help=f"the password (default: ${PASSWORD_ENV}, else a prompt)",
    )
    add.set_defaults(func=_account_add)
    listing = _command(actions, "list", "list accounts")
    listing.set_defaults(func=_account_list)
    disable = _command(actions, "disable", "disable an account")
    disable.add_argument("login")
    disable.set_defaults(func=_account_disable)
    request = _command(actions, "request", "an approver's certificate request, to a file or online")
    request.add_argument("login")
    where = request.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, metavar="FILE", help="write it here (for a USB stick)")
    where.add_argument(
        "--online",
        action="store_true",
        help="send it to parent_url and install the certificate once approved",
    )
    request.set_defaults(func=_account_request)
    certify = _command(actions, "certify", "install an approver's certificate from the hub")
    certify.add_argument("answer", type=Path, metavar="FILE")
    certify.set_defaults(func=_account_certify)

    audit = commands.add_parser("audit", help="the audit log")
    audit_actions = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    audit_actions.required = True
    verify = _command(audit_actions, "verify", "check the audit log's hash chain")
    verify.set_defaults(func=_audit_verify)

    add_read_card(commands)


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=text)
    parser.add_argument(
        "--data",
        type=Path,
        default=os.environ.get(DATA_ENV),
        metavar="DIR",
        help=f"the node's data directory (default: ${DATA_ENV})",
    )
    add_passphrase_argument(parser)
    return parser


def _open(args: argparse.Namespace) -> NodeServices:
    if not args.data:
        raise UsageError(f"no data directory: give --data DIR or set ${DATA_ENV}")
    return NodeServices.open(Path(args.data), passphrase_from(args))


def _password(path: str | None, *, what: str) -> str:
    source = path or os.environ.get(PASSWORD_ENV)
    if source:
        try:
            return Path(source).read_text("utf-8").split("\n", 1)[0].rstrip("\r")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the password file {source}") from exc
    if not sys.stdin.isatty():
        raise FormError(f"no password for {what}: give a password file or set ${PASSWORD_ENV}")
    first = getpass.getpass(f"Password for {what}: ")
    if getpass.getpass("Again: ") != first:
        raise FormError("the two passwords differ")
    return first


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc


def _init(args: argparse.Namespace) -> int:
    if not 1 <= args.machine <= 99:
        raise UsageError("--machine: expected 1 to 99")
    node_id = f"{args.site}-{args.machine:02d}"
    anchor = _read(args.root)
    passphrase = passphrase_from(args, confirm=True)
    password = _password(args.admin_password_file, what=args.admin)
    data = Path(args.data)
    try:
        request = init_node(
            data,
            node_id=node_id,
            name=args.name,
            anchor_data=anchor,
            passphrase=passphrase,
            admin_login=args.admin,
            admin_name=args.admin_name,
            admin_password=password,
            parent_url=args.parent_url,
            kdf=KDF_COSTS[args.kdf],
        )
    except OSError as exc:  # e.g. DIR, or a parent of it, is a file; init_node undid its work
        raise InputError(f"cannot make the node in {data}: {exc.strerror}") from exc
    print(f"node {node_id} set up in {args.data}")
    print(f"enrollment request: {request}")
    print("send it to the parent hub, then install the answer with `muster node enroll FILE`")
    return 0


def _enroll(args: argparse.Namespace) -> int:
    services = _open(args)
    try:
        if args.online:
            outcome = services.enroll_online()
            if outcome != "approved":
                print(
                    f"enrollment request {outcome}: ask the hub's administrator, then run "
                    "this again"
                )
                return 0 if outcome == "pending" else 1
            state = services.enrollment()
        else:
            state = services.enroll(_read(args.answer))
    finally:
        services.close()
    print(f"enrolled: {state.node_id} under {state.parent_id}, certificate {state.serial}")
    if state.not_after:
        print(f"valid until {state.not_after:%Y-%m-%d}")
    return 0


def _rotate_keys(args: argparse.Namespace) -> int:
    passphrase = passphrase_from(args)
    services = NodeServices.open(Path(args.data), passphrase)
    try:
        if args.answer is not None:
            services.finish_key_rotation(passphrase, _read(args.answer))
        elif services.config.parent_url is None:
            services.begin_key_rotation(passphrase)
            print(
                f"rotation request written to {Path(args.data) / 'rotation-request.json'}: take "
                "it to the parent hub, then run `muster node rotate-keys --answer FILE`"
            )
            return 0
        else:
            outcome = services.rotate_keys_online(passphrase)
            if outcome != "approved":
                print(f"rotation request {outcome}: run this again later")
                return 0 if outcome == "pending" else 1
    finally:
        services.close()
    services = NodeServices.open(Path(args.data), passphrase)  # on the new keys now
    try:
        state = services.enrollment()
    finally:
        services.close()
    print(f"keys rolled: certificate {state.serial}; restart a running node to use them")
    return 0


def _run(args: argparse.Namespace) -> int:
    from node.agent import run  # noqa: PLC0415 - loads the web UI only when serving

    services = _open(args)
    try:
        run(services, host=args.host, port=args.port)
    finally:
        services.close()
    return 0


def _sync(args: argparse.Namespace) -> int:
    services = _open(args)
    try:
        report = services.sync_now()
    finally:
        services.close()
    print(
        f"uploaded {report.uploaded} (acknowledged {report.acknowledged}, rejected "
        f"{report.rejected}); downloaded {report.downloaded} (applied {report.applied}); "
        f"receipts posted {report.receipts_posted}"
    )
    if report.error:
        print(f"stopped: {report.error}", file=sys.stderr)
        return 1
    return 0


def _status_lines(status: NodeStatus) -> list[str]:
    lines = [
        f"node {status.node_id}, parent {status.parent_id or '(not enrolled)'}",
        f"records: {status.records} live, {status.records_to_verify} to verify, "
        f"{status.open_problems} open problems",
    ]
    lines += [f"  {category}: {count}" for category, count in status.records_by_category]
    lines.append("ops: " + ", ".join(f"{s.value} {n}" for s, n in status.ops_by_state))
    lines.append("outbox: " + ", ".join(f"{s.value} {n}" for s, n in status.outbox_by_state))
    if status.last_sync_at is None:
        lines.append("last sync: never")
    else:
        outcome = "ok" if status.last_sync_ok else "failed"
        lines.append(f"last sync: {status.last_sync_at:%Y-%m-%d %H:%M:%S} UTC, {outcome}")
    lines += [f"error: {error}" for error in status.last_errors]
    return lines


def _status(args: argparse.Namespace) -> int:
    services = _open(args)
    try:
        status = services.status()
    finally:
        services.close()
    if args.json:
        print_json(
            {
                "node_id": status.node_id,
                "parent_id": status.parent_id,
                "enrolled": status.enrolled,
                "records": status.records,
                "records_by_category": dict(status.records_by_category),
                "ops_by_state": {s.value: n for s, n in status.ops_by_state},
                "outbox_by_state": {s.value: n for s, n in status.outbox_by_state},
                "records_to_verify": status.records_to_verify,
                "open_problems": status.open_problems,
                "last_sync_at": status.last_sync_at.isoformat() if status.last_sync_at else None,
                "last_sync_ok": status.last_sync_ok,
                "last_errors": list(status.last_errors),
            }
        )
    else:
        print("\n".join(_status_lines(status)))
    return 0


def _export(args: argparse.Namespace) -> int:
    services = _open(args)
    try:
        report = services.export_to(args.to)
    finally:
        services.close()
    if not report.files:
        print("nothing to export: every bundle has its receipt")
    for path in report.files:
        print(path)
    print(f"{report.bundles} bundles written ({report.receipts} receipts for the hub among them)")
    return 0


def _import(args: argparse.Namespace) -> int:
    services = _open(args)
    try:
        report = services.import_files(args.files)
    finally:
        services.close()
    for item in report.items:
        print(f"{item.outcome:10} {item.path}  {item.message}")
    return 1 if report.rejected else 0


def _account_add(args: argparse.Namespace) -> int:
    services = _open(args)
    try:
        account = services.create_account(
            args.login, args.name, args.role, _password(args.password_file, what=args.login)
        )
    finally:
        services.close()
    print(f"account {account.login} ({account.role.value}) created")
    if account.role is AccountRole.APPROVER:
        print(
            "approvers need a certificate from the parent hub: "
            f"`muster node account request {account.login} --out FILE`"
        )
    return 0


def _account_list(args: argparse.Namespace) -> int:
    services = _open(args)
    try:
        accounts = services.accounts()
    finally:
        services.close()
    for account in accounts:
        flags = [] if account.active else ["disabled"]
        if account.role is AccountRole.APPROVER:
            flags.append("certified" if account.certified else "not certified")
        extra = f" ({', '.join(flags)})" if flags else ""
        print(f"{account.login:24} {account.role.value:11}{extra}")
    return 0


def _account_disable(args: argparse.Namespace) -> int:
    services = _open(args)
    try:
        services.set_account_active(args.login, False)
    finally:
        services.close()
    print(f"account {args.login} disabled")
    return 0


def _account_request(args: argparse.Namespace) -> int:
    services = _open(args)
    try:
        if args.online:
            outcome = services.enroll_online(args.login)
        else:
            data = services.approver_request(args.login)
    finally:
        services.close()
    if args.online:
        print(f"certificate request of {args.login}: {outcome}")
        return 1 if outcome.startswith("refused") else 0
    args.out.write_bytes(data)
    print(f"wrote {args.out}: send it to the parent hub")
    return 0


def _account_certify(args: argparse.Namespace) -> int:
    services = _open(args)
    try:
        account = services.install_approver_certificate(_read(args.answer))
    finally:
        services.close()
    print(f"approver {account.login} certified: they can authorise batches now")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    services = _open(args)
    try:
        count = services.verify_audit()
    finally:
        services.close()
    print(f"audit log intact: {count} entries")
    return 0
