"""``muster keys``: make key directories and hand auditors the age identity."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from node.cli.common import (
    KDF_COSTS,
    add_kdf_argument,
    add_passphrase_argument,
    create_key_dir,
    passphrase_from,
    unlock_key_dir,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="make and use key directories")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)

    new = keys_sub.add_parser(
        "new", help="make a signing key and an age identity in DIR, under a passphrase"
    )
    new.add_argument("dir", type=Path, metavar="DIR")
    new.add_argument("--id", dest="owner", help="the owner's node, hub or person id")
    add_passphrase_argument(new)
    add_kdf_argument(new)
    new.set_defaults(func=_new)

    export = keys_sub.add_parser(
        "export-age-identity",
        help="print the age identity (for `age -d -i`) after the passphrase",
    )
    export.add_argument("dir", type=Path, metavar="DIR")
    add_passphrase_argument(export)
    export.set_defaults(func=_export_age_identity)


def _new(args: argparse.Namespace) -> int:
    passphrase = passphrase_from(args, confirm=True)
    keys = create_key_dir(args.dir, passphrase, owner=args.owner, cost=KDF_COSTS[args.kdf])
    print(f"wrote {args.dir}/sign.pub, age.pub and keystore.json")
    print(f"signing key id: {keys.signing.public_key.key_id_hex}")
    print(f"age recipient:  {keys.age.recipient}")
    return 0


def _export_age_identity(args: argparse.Namespace) -> int:
    keys = unlock_key_dir(args.dir, passphrase_from(args))
    sys.stdout.write(keys.age.to_file_text())
    return 0
