"""``muster hub …`` commands of the federation upward (registered by hub/cli.py).

- ``hub package --data DIR``: package what was merged since the last package now (under
  ``auto`` the hub's own key authorises them; under ``admin`` they wait as drafts);
  ``--authorise --key KEYDIR`` seals the drafts, authorised by the administrator whose
  key directory it is (``id`` names them, ``370100/qian.li``; the key's passphrase from
  ``--key-passphrase-file``);
- ``hub status --data DIR``: the scheduled jobs (last run, last error, next run), the
  streams up and down, what waits in each queue; needs no passphrase;
- ``hub export --to DIR --data DIR``: the packages on their way to the parent, as files;
- ``hub enroll-parent --url URL --data DIR``: send the hub's enrollment request to its
  parent, and install the answer once an administrator there approved it (run it again
  to ask again).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from crypto.errors import InputError, UsageError
from hub.config import HubConfig
from hub.runtime import open_context
from hub.store import Store
from hub.upward.adminkey import AdminSigner
from hub.upward.building import authorise_drafts, build_packages
from hub.upward.enrollment import enroll_online
from hub.upward.status import format_status, hub_status
from hub.upward.transfer import export_up
from node.cli.common import unlock_key_dir
from node.keyfiles import KeyDir, read_passphrase

__all__ = ["register_upward"]


def register_upward(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the upward commands to the ``hub`` group."""
    package = cmds.add_parser("package", help="package merged ops for the parent now")
    _data_args(package)
    package.add_argument(
        "--authorise", action="store_true", help="seal the draft packages with --key"
    )
    package.add_argument("--key", type=Path, help="an administrator's key directory")
    package.add_argument("--key-passphrase-file", help="the administrator key's passphrase")
    package.set_defaults(func=_package)

    status = cmds.add_parser("status", help="jobs, streams and queues of the hub")
    status.add_argument("--data", type=Path, help="the hub's data directory")
    status.add_argument("--config", type=Path, help="hub.toml (instead of --data)")
    status.set_defaults(func=_status)

    export = cmds.add_parser("export", help="write the packages for the parent to a directory")
    export.add_argument("--to", required=True, type=Path, help="the directory (a USB stick)")
    _data_args(export)
    export.set_defaults(func=_export)

    enroll = cmds.add_parser("enroll-parent", help="enroll with the parent hub online")
    enroll.add_argument("--url", help="the parent's API (default: parent_url of hub.toml)")
    _data_args(enroll)
    enroll.set_defaults(func=_enroll_parent)


def _data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="the hub's data directory")
    parser.add_argument("--passphrase-file", help="file whose first line is the key passphrase")


def _package(args: argparse.Namespace) -> int:
    ctx = open_context(HubConfig.load(args.data), read_passphrase(args.passphrase_file))
    try:
        if args.authorise:
            if args.key is None:
                raise UsageError("--authorise needs --key KEYDIR (an administrator's keys)")
            keydir = KeyDir(args.key)
            try:
                subject = keydir.owner()
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(
                    f"{args.key}: not a key directory with a readable id file"
                ) from exc
            if subject is None or "/" not in subject:
                raise InputError(f"{args.key}: its id file must name a person (site/login)")
            key = unlock_key_dir(args.key, read_passphrase(args.key_passphrase_file)).signing
            made = authorise_drafts(ctx, AdminSigner(key=key, subject=subject))
            verb = "authorised and sealed"
        else:
            made = build_packages(ctx)
            verb = "made"
    finally:
        ctx.store.dispose()
    for info in made:
        where = f"seq {info.seq}" if info.seq is not None else "draft"
        print(f"package {info.bundle_id}: {info.ops} ops, {where}, {info.state}")
    print(f"{len(made)} packages {verb}")
    return 0


def _status(args: argparse.Namespace) -> int:
    path = args.config or args.data
    if path is None:
        raise UsageError("give --data DIR or --config FILE")
    config = HubConfig.load(Path(path))
    store = Store(config.database_url)
    try:
        print(format_status(hub_status(config, store)), end="")
    finally:
        store.dispose()
    return 0


def _export(args: argparse.Namespace) -> int:
    ctx = open_context(HubConfig.load(args.data), read_passphrase(args.passphrase_file))
    try:
        report = export_up(ctx, args.to)
    finally:
        ctx.store.dispose()
    for name in report.files:
        print(name)
    print(f"{report.bundles} bundles written to {args.to}")
    return 0


def _enroll_parent(args: argparse.Namespace) -> int:
    config = HubConfig.load(args.data)
    url = args.url or config.parent_url
    if not url:
        raise UsageError("give --url URL, or set parent_url in hub.toml")
    try:
        request = (config.data_dir / "enrollment-request.json").read_bytes()
    except OSError as exc:
        raise InputError(
            f"no enrollment request in {config.data_dir}: run `muster hub init`"
        ) from exc
    ctx = open_context(config, read_passphrase(args.passphrase_file))
    try:
        outcome = asyncio.run(enroll_online(ctx, url, request))
    finally:
        ctx.store.dispose()
    if outcome.status == "approved":
        print(f"enrolled: installed {outcome.installed} certificates from {url}")
        return 0
    if outcome.status == "refused":
        print(f"refused by the parent: {outcome.reason}")
        return 1
    print(f"request {outcome.request_id} is {outcome.status}: ask the parent's administrator")
    return 0
