"""Helpers shared by CLI commands: argument types, JSON output, passphrases."""

from __future__ import annotations

import argparse
import base64
import json
import sys
from typing import Any

from crypto.keystore import KDF_INTERACTIVE, KDF_MODERATE, KdfCost
from node.keyfiles import read_passphrase

__all__ = [
    "add_kdf_argument",
    "add_passphrase_argument",
    "jsonable",
    "passphrase_from",
    "print_json",
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
