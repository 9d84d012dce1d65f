"""``muster hub …``: set up, run and operate a hub (registered through ``muster.cli``).

- ``hub init --site 370102 --name … --data DIR [--db URL] --root ANCHOR``: keys, config,
  store, and ``DIR/enrollment-request.json`` for the parent (or the root ceremony);
- ``hub enroll FILE --data DIR``: install the answer (the hub's certificate chain);
- ``hub account add --data DIR --login … --name … --role admin``: a console account;
- ``hub run --config FILE`` (or ``--data DIR``): the API, the console's services and the pipeline;
- ``hub import FILE… --data DIR [--process]``: bundles from a USB stick;
- ``hub process --data DIR``: run the pipeline until no bundle waits;
- ``hub package``, ``hub status``, ``hub export``, ``hub enroll-parent``: the federation
  upward (hub/upcli.py); ``root init|certify``: the root's key ceremony (hub/rootcli.py);
- ``hub audit verify --data DIR``: check the audit log's hash chain;
- ``hub report …`` and ``hub export-records …``: the reports (hub/reports/cli.py).
"""

from __future__ import annotations

import argparse
import gc
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from crypto.errors import InputError, MusterError, StateError, UsageError
from hub.accounts import create_account
from hub.app import create_app
from hub.audit import verify_audit
from hub.config import CONFIG_FILE, HubConfig
from hub.context import HubContext
from hub.crosscheck_cli import register_crosscheck
from hub.demo.cli import register as register_demo
from hub.downcli import register_downward
from hub.errors import BundleStorageError, ConfigError
from hub.fromparent import import_down_file
from hub.intake import take_in
from hub.pipeline import run_once
from hub.rawstore import store_file
from hub.reports import cli as report_cli
from hub.rootcli import register as register_root
from hub.runtime import open_context
from hub.store import Store, migrate
from hub.upcli import register_upward
from hub.upward.enrollment import install_answer
from hub.upward.transfer import import_receipt, write_receipts
from node.cli.common import KDF_COSTS, add_kdf_argument
from node.cli.main import EXIT_INPUT, EXIT_INTERNAL, EXIT_STATE, EXIT_USAGE
from node.fsutil import write_atomic
from node.keyfiles import KeyDir, read_passphrase
from protocol.trust import Role
from protocol.trust.anchor import anchor_from_bytes, anchor_to_bytes
from protocol.trust.enrollment import EnrollmentAnswer, make_enrollment_request

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``hub`` command group (and ``demo``, which runs a province of hubs)."""
    register_demo(sub)
    hub = sub.add_parser("hub", help="set up, run and operate a hub")
    cmds = hub.add_subparsers(dest="hub_command", metavar="HUB_COMMAND")
    cmds.required = True

    init = cmds.add_parser("init", help="create a hub's keys, configuration and store")
    init.add_argument("--site", required=True, help="the hub's 6-digit division code")
    init.add_argument("--name", required=True, help="the office's display name")
    init.add_argument("--data", required=True, type=Path, help="data directory to create")
    init.add_argument("--db", default="", help="store URL (default: SQLite in the data dir)")
    init.add_argument("--root", required=True, type=Path, help="the province root anchor file")
    init.add_argument("--passphrase-file", help="file whose first line is the key passphrase")
    add_kdf_argument(init)
    init.set_defaults(func=_init)

    enroll = cmds.add_parser("enroll", help="install the hub's certificate (enrollment answer)")
    enroll.add_argument("answer", type=Path)
    _data_args(enroll)
    enroll.set_defaults(func=_enroll)

    account = cmds.add_parser("account", help="console accounts")
    acc = account.add_subparsers(dest="account_command", metavar="ACCOUNT_COMMAND")
    acc.required = True
    add = acc.add_parser("add", help="create a console account")
    _data_args(add)
    add.add_argument("--login", required=True)
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--role", required=True, choices=["admin", "reviewer", "viewer", "auditor"])
    add.add_argument("--scope", help="division code the account may see (default: the hub's)")
    add.add_argument("--password-file", required=True, help="file holding the new password")
    add.set_defaults(func=_account_add)

    run = cmds.add_parser("run", help="serve the API and run the pipeline")
    where = run.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", type=Path, help="hub.toml (or its directory)")
    where.add_argument("--data", type=Path, help="the hub's data directory (instead of --config)")
    run.add_argument("--passphrase-file")
    run.set_defaults(func=_run)

    imp = cmds.add_parser("import", help="take in bundle files (USB)")
    imp.add_argument("files", nargs="+", type=Path)
    _data_args(imp)
    imp.add_argument("--process", action="store_true", help="then run the pipeline until idle")
    imp.add_argument(
        "--receipts-to", type=Path, help="write the receipts for the senders there (USB)"
    )
    imp.set_defaults(func=_import)

    process = cmds.add_parser("process", help="run the pipeline until no bundle waits")
    _data_args(process)
    process.set_defaults(func=_process)

    audit = cmds.add_parser("audit", help="the audit log")
    aud = audit.add_subparsers(dest="audit_command", metavar="AUDIT_COMMAND")
    aud.required = True
    verify = aud.add_parser("verify", help="check the audit log's hash chain")
    verify.add_argument("--data", type=Path, help="data directory")
    verify.add_argument("--config", type=Path, help="hub.toml (instead of --data)")
    verify.set_defaults(func=_audit_verify)
    register_upward(cmds)
    register_downward(cmds)
    register_root(sub)

    report_cli.register(cmds)
    register_crosscheck(cmds)


def _data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="the hub's data directory")
    parser.add_argument("--passphrase-file", help="file whose first line is the key passphrase")


def _config(args: argparse.Namespace) -> HubConfig:
    path = getattr(args, "config", None) or args.data
    return HubConfig.load(Path(path))


def _context(args: argparse.Namespace) -> HubContext:
    config = _config(args)
    return open_context(config, read_passphrase(args.passphrase_file))


def _init(args: argparse.Namespace) -> int:
    data: Path = args.data
    if (data / CONFIG_FILE).exists():
        raise StateError(f"{data / CONFIG_FILE} exists: this directory holds a hub already")
    try:
        anchor = anchor_from_bytes(args.root.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read the root anchor {args.root}") from exc
    config = HubConfig(data_dir=data, site=args.site, name=args.name, db_url=args.db)
    keystore = KeyDir(config.keys_dir).keystore
    if keystore.exists():  # checked before anything is made in a directory of another kind
        raise StateError(f"{keystore} already exists; refusing to overwrite keys")
    passphrase = read_passphrase(args.passphrase_file, confirm=True)
    try:
        store = Store(config.database_url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError("--db: not a database URL the hub can use") from exc
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot make the data directory {data}: {exc.strerror}") from exc
    try:
        migrate(store)  # before anything else: a store that cannot be opened leaves no keys
    except sa.exc.OperationalError as exc:
        raise ConfigError("cannot open the hub's store: check --db and the database") from exc
    finally:
        store.dispose()
    for directory in (config.bundles_dir, config.down_dir, config.blobs_dir, config.scratch_dir):
        directory.mkdir(exist_ok=True)
    keys = KeyDir(config.keys_dir).create(passphrase, owner=config.site, cost=KDF_COSTS[args.kdf])
    write_atomic(config.anchor_path, anchor_to_bytes(anchor), mode=0o644)
    request = make_enrollment_request(
        keys.signing,
        subject=config.site,
        role=Role.HUB,
        name=config.name,
        at=datetime.now(UTC),
        age=keys.age.recipient,
    )
    write_atomic(data / "enrollment-request.json", request.to_bytes(), mode=0o644)
    write_atomic(data / CONFIG_FILE, config.to_toml().encode("utf-8"), mode=0o644)
    print(f"hub {config.site} initialised in {data}")
    print(
        f"signing key {keys.signing.public_key.key_id_hex}; send enrollment-request.json "
        "to the parent hub (or the root ceremony), then run `muster hub enroll ANSWER`"
    )
    return 0


def _enroll(args: argparse.Namespace) -> int:
    ctx = _context(args)
    try:
        answer = EnrollmentAnswer.from_bytes(args.answer.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read {args.answer}") from exc
    added = install_answer(ctx, answer, at=datetime.now(UTC))
    print(f"installed {added} certificates; hub {ctx.site} is enrolled")
    return 0


def _account_add(args: argparse.Namespace) -> int:
    ctx = _context(args)
    try:
        password = Path(args.password_file).read_text("utf-8").split("\n", 1)[0]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {args.password_file}") from exc
    info = create_account(
        ctx,
        login=args.login,
        display_name=args.name,
        role=args.role,
        password=password,
        by="cli",
        scope=args.scope,
    )
    print(f"account {info.login} ({info.role}, scope {info.scope}) created")
    return 0


def _run(args: argparse.Namespace) -> int:
    config = _config(args)
    passphrase = read_passphrase(args.passphrase_file)
    app = create_app(config, passphrase=passphrase)
    app.on_startup.append(_freeze)
    web.run_app(app, host=config.listen_host, port=config.listen_port, print=_quiet)
    return 0


async def _freeze(_app: web.Application) -> None:
    # After the services are up (the cleanup contexts run first): what is built by now
    # (some 150,000 objects of 1,250 modules, the schema, the console's templates, the
    # trust store) lives as long as the process. Frozen, it is no longer traversed by
    # the collector, neither while serving nor by the collections at interpreter exit,
    # which otherwise took most of the time between SIGTERM and the exit of an idle hub.
    gc.collect()
    gc.freeze()


def _quiet(*_args: Any) -> None:
    return None


def _drain(ctx: HubContext) -> int:
    done = 0
    while run_once(ctx):
        done += 1
    return done


def _import(args: argparse.Namespace) -> int:
    if args.receipts_to is not None and not args.receipts_to.is_dir():
        # checked before any bundle is taken in: a bad --receipts-to changes nothing
        raise InputError(f"receipts directory {args.receipts_to} does not exist")
    ctx = _context(args)
    failures = 0
    taken: list[int] = []
    for path in args.files:
        if path.suffix == ".json":  # the parent's receipt for one of our packages
            try:
                receipt = import_receipt(ctx, path.read_bytes())
            except (MusterError, OSError) as exc:
                print(f"{path}: refused: {getattr(exc, 'message', exc)}", file=sys.stderr)
                failures += 1
            else:
                print(f"{path}: receipt for {receipt.bundle_id}: {receipt.status}")
            continue
        try:
            down = import_down_file(ctx, path)
        except MusterError as exc:
            print(f"{path}: refused: {exc.message}", file=sys.stderr)
            failures += 1
            continue
        except OSError as exc:
            print(f"{path}: cannot read ({exc.strerror})", file=sys.stderr)
            failures += 1
            continue
        if down is not None:  # a bundle from our parent: applied once, passed on below
            print(f"{path}: {down.outcome} ({down.kind} {down.seq} from the parent)")
            continue
        try:
            with path.open("rb") as source:
                stored = store_file(
                    source,
                    directory=ctx.config.bundles_dir,
                    scratch=ctx.config.scratch_dir,
                    limit=ctx.config.max_bundle_bytes,
                )
        except OSError as exc:
            print(f"{path}: cannot read ({exc.strerror})", file=sys.stderr)
            failures += 1
            continue
        except InputError as exc:
            print(f"{path}: rejected: {exc.message}", file=sys.stderr)
            failures += 1
            continue
        except BundleStorageError as exc:
            print(f"{path}: not stored: {exc.message}. {exc.diagnostics()}", file=sys.stderr)
            failures += 1
            continue
        result = take_in(ctx, stored, source="file")
        taken.append(result.row_id)
        if result.status == "rejected" and result.error is not None:
            print(f"{path}: rejected: {result.error.message}", file=sys.stderr)
            failures += 1
        else:
            print(f"{path}: {result.status}{' (parked)' if result.parked else ''}")
    if args.receipts_to is not None:
        written = write_receipts(ctx, taken, args.receipts_to)
        print(f"{len(written)} receipts written to {args.receipts_to}")
    if args.process:
        print(f"processed {_drain(ctx)} pipeline steps")
    return 1 if failures else 0


def _process(args: argparse.Namespace) -> int:
    print(f"processed {_drain(_context(args))} pipeline steps")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    if args.config is None and args.data is None:
        raise InputError("give --data DIR or --config FILE")
    config = _config(args)
    store = Store(config.database_url)
    try:
        count = verify_audit(store)
    finally:
        store.dispose()
    print(f"audit log intact: {count} entries")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m hub …``: the hub commands without the ``muster`` entry point."""
    parser = argparse.ArgumentParser(prog="python -m hub")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    register(sub)
    args = parser.parse_args(["hub", *(sys.argv[1:] if argv is None else argv)])
    try:
        code: int = args.func(args)
    except MusterError as exc:
        print(f"muster: error: {exc.message}", file=sys.stderr)
        if isinstance(exc, UsageError):
            return EXIT_USAGE
        if isinstance(exc, StateError):
            return EXIT_STATE
        return EXIT_INPUT if isinstance(exc, InputError) else EXIT_INTERNAL
    return code
