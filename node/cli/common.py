"""Helpers shared by CLI commands: argument types, JSON output, passphrases."""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

from crypto.errors import InputError, UsageError
from crypto.keys import KeyPair
from crypto.keystore import KDF_INTERACTIVE, KDF_MODERATE, KdfCost
from node.keyfiles import KeyDir, read_passphrase

__all__ = [
    "add_kdf_argument",
    "add_passphrase_argument",
    "create_key_dir",
    "jsonable",
    "passphrase_from",
    "print_json",
    "unlock_key_dir",
]

KDF_COSTS: dict[str, KdfCost] = {"moderate": KDF_MODERATE, "interactive": KDF_INTERACTIVE}


def add_passphrase_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help="read the passphrase from FILE (default: $MUSTER_PASSPHRASE_FILE, else a prompt)",
    )


def add_kdf_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kdf",
        choices=sorted(KDF_COSTS),
        default="moderate",
        help="Argon2id cost for the keystore (moderate: 256 MiB; interactive: 64 MiB)",
    )


def passphrase_from(args: argparse.Namespace, *, confirm: bool = False) -> bytes:
    return read_passphrase(getattr(args, "passphrase_file", None), confirm=confirm)


def unlock_key_dir(directory: Path, passphrase: bytes) -> KeyPair:
    """:meth:`KeyDir.unlock`, with a file or a directory in the wrong place as a typed error."""
    try:
        return KeyDir(directory).unlock(passphrase)
    except OSError as exc:  # e.g. DIR is a file, or DIR/keystore.json is a directory
        raise UsageError(f"no keystore at {directory / 'keystore.json'}: {exc.strerror}") from exc


def create_key_dir(
    directory: Path, passphrase: bytes, *, owner: str | None, cost: KdfCost
) -> KeyPair:
    """:meth:`KeyDir.create`, with a directory that cannot be made as a typed error."""
    try:
        return KeyDir(directory).create(passphrase, owner=owner, cost=cost)
    except OSError as exc:  # e.g. DIR, or a parent of it, is a file
        raise InputError(f"cannot make the key directory {directory}: {exc.strerror}") from exc


def jsonable(value: Any) -> Any:
    """Turn msgpack values into JSON: bytes become ``{"$bytes": "<base64>"}``."""
    if isinstance(value, bytes | bytearray):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def print_json(value: Any, *, compact: bool = False) -> None:
    if compact:
        text = json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(jsonable(value), ensure_ascii=False, indent=2)
    sys.stdout.write(text + "\n")
