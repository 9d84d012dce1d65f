"""``muster bundle``: seal, inspect, verify and open bundle files (also for auditors)."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from crypto.errors import InputError, KeyFormatError, UsageError
from crypto.sign import PublicKey
from node.cli.common import (
    add_passphrase_argument,
    passphrase_from,
    print_json,
    unlock_key_dir,
)
from node.fsutil import atomic_writer
from node.keyfiles import KeyDir, read_recipient_file
from protocol.bundle import (
    BundleKind,
    StaticTrust,
    inspect_bundle,
    open_bundle,
    seal_bundle,
    verify_bundle,
)

_MAX_JSON_LINE = 16 * 1024 * 1024


class EntriesFileError(InputError):
    """A line of an entries file is not a JSON value."""

    code = "bad_entries_file"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bundle = sub.add_parser("bundle", help="seal, inspect, verify and open bundle files")
    actions = bundle.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)

    seal = actions.add_parser("seal", help="seal JSON-lines entries into a bundle file")
    seal.add_argument("--key", type=Path, required=True, metavar="DIR", help="sender's key dir")
    seal.add_argument(
        "--to", type=Path, action="append", required=True, metavar="AGE_RECIPIENT_FILE",
        help="an age.pub file; repeat for escrow recipients (the first names the receiver)",
    )  # fmt: skip
    seal.add_argument("--kind", required=True, choices=[k.value for k in BundleKind])
    seal.add_argument("--seq", type=int, required=True, help="sequence number in the stream")
    seal.add_argument("--prev", default=None, metavar="HASH", help="hash of the previous bundle")
    seal.add_argument("--from", dest="sender", help="sender id (default: the key dir's id)")
    seal.add_argument(
        "--for", dest="recipient", help="receiver site id (default: the first --to file's id)"
    )
    seal.add_argument("--schema", default=None, help="record schema version of the entries")
    seal.add_argument("entries", type=Path, metavar="ENTRIES.jsonl")
    seal.add_argument("out", type=Path, metavar="OUT")
    add_passphrase_argument(seal)
    seal.set_defaults(func=_seal)

    inspect = actions.add_parser("inspect", help="print the header (NOT verified) as JSON")
    inspect.add_argument("file", type=Path, metavar="FILE")
    inspect.set_defaults(func=_inspect)

    verify = actions.add_parser("verify", help="check the signature against a sender's key")
    verify.add_argument("file", type=Path, metavar="FILE")
    verify.add_argument(
        "--signer", type=Path, action="append", required=True, metavar="SIGN_PUB",
        help="a minisign public key file to trust; repeat for several",
    )  # fmt: skip
    verify.set_defaults(func=_verify)

    open_ = actions.add_parser("open", help="verify, decrypt and print entries as JSON lines")
    open_.add_argument("file", type=Path, metavar="FILE")
    open_.add_argument("--identity", type=Path, required=True, metavar="KEYDIR")
    open_.add_argument(
        "--signer", type=Path, action="append", metavar="SIGN_PUB",
        help="trusted sender key (default: every KEYDIR/trusted/*.pub)",
    )  # fmt: skip
    add_passphrase_argument(open_)
    open_.set_defaults(func=_open)


def _read_entries(path: Path) -> Iterator[Any]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        for number, line in enumerate(iter(lambda: handle.readline(_MAX_JSON_LINE + 1), b""), 1):
            if len(line) > _MAX_JSON_LINE:
                raise EntriesFileError(f"{path} line {number}: longer than {_MAX_JSON_LINE} bytes")
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            # ValueError: JSONDecodeError, UnicodeDecodeError, and an integer over 4300 digits.
            except (ValueError, RecursionError) as exc:
                raise EntriesFileError(f"{path} line {number}: not valid JSON") from exc


def _seal(args: argparse.Namespace) -> int:
    key_dir = KeyDir(args.key)
    recipients = [read_recipient_file(path) for path in args.to]
    try:
        sender = args.sender or key_dir.owner()
    except OSError as exc:
        raise UsageError(f"no key directory at {args.key}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{args.key}/id: expected the owner's id as UTF-8 text") from exc
    receiver = args.recipient or recipients[0][1]
    if not sender:
        raise UsageError("no sender id: give --from or make the key dir with `keys new --id`")
    if not receiver:
        raise UsageError("no receiver id: give --for or use an age.pub written by `keys new --id`")
    if args.seq > 1 and not args.prev:
        raise UsageError(f"seq {args.seq} needs --prev, the hash of bundle {args.seq - 1}")
    keys = unlock_key_dir(args.key, passphrase_from(args))
    try:
        with (
            tempfile.TemporaryFile(dir=args.out.parent.resolve()) as spool,
            atomic_writer(args.out, mode=0o644) as out,
        ):
            sealed = seal_bundle(
                _read_entries(args.entries),
                kind=BundleKind(args.kind),
                sender=sender,
                recipient=receiver,
                seq=args.seq,
                prev=args.prev,
                created=datetime.now(UTC),
                bundle_id=secrets.token_hex(16),
                signer=keys.signing,
                recipients=[recipient for recipient, _owner in recipients],
                out=out,
                spool=spool,
                schema=args.schema,
            )
    except OSError as exc:
        raise InputError(f"cannot write {args.out}: {exc.strerror}") from exc
    print(f"sealed {sealed.header.count} entries into {args.out} ({sealed.size} bytes)")
    print(f"bundle id {sealed.header.bundle_id}, hash {sealed.bundle_hash}")
    return 0


def _open_file(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc


def _inspect(args: argparse.Namespace) -> int:
    with _open_file(args.file) as source:
        header, signature, _offset = inspect_bundle(source)
    print_json({**header.to_dict(), "signer_key_id": signature.key_id_hex})
    return 0


def _trusted_keys(paths: list[Path]) -> StaticTrust:
    keys: list[PublicKey] = []
    for path in paths:
        try:
            keys.append(PublicKey.from_minisign(path.read_text("utf-8")))
        except OSError as exc:
            raise InputError(f"cannot read signer key {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise KeyFormatError(
                f"signer key {path}: not a minisign public key (not text)"
            ) from exc
    return StaticTrust.of(keys)


def _verify(args: argparse.Namespace) -> int:
    with _open_file(args.file) as source:
        verified = verify_bundle(source, trust=_trusted_keys(args.signer))
    print_json(
        {
            "verified": True,
            "signer_key_id": verified.signer.key_id_hex,
            "bundle_hash": verified.bundle_hash,
            "header": verified.header.to_dict(),
        }
    )
    return 0


def _open(args: argparse.Namespace) -> int:
    signers = args.signer or sorted((args.identity / "trusted").glob("*.pub"))
    if not signers:
        raise UsageError(f"no trusted signer: give --signer or put keys in {args.identity}/trusted")
    trust = _trusted_keys(list(signers))
    keys = unlock_key_dir(args.identity, passphrase_from(args))
    with _open_file(args.file) as source:
        opened = open_bundle(source, trust=trust, identities=[keys.age])
        for entry in opened.entries():
            print_json(entry, compact=True)
    sys.stdout.flush()
    return 0
