"""Seal and open throughput for realistic records, against the raw pipeline.

The *raw* pipeline is what the same work costs written directly against the
libraries, with whole buffers and no checks: msgpack each record, zstd the lot,
age-encrypt it, one Ed25519 signature over its BLAKE2b-512 (and the reverse).
Both are measured in the same run, interleaved, so the ratio holds when the
machine's speed drifts. Prints figures and ratios; asserts nothing.

    python bench/bundle.py [--records 10000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgpack
import nacl.signing
import pyrage
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crypto.keys import KeyPair
from protocol.bundle import BundleKind, StaticTrust, open_bundle, seal_bundle
from protocol.sample import realistic_record

CATEGORIES = ("retired_soldier", "retired_officer", "martyr_survivor", "active_duty_family",
              "disabled_militia", "disabled_soldier")  # fmt: skip


def make_entries(count: int) -> list[Any]:
    rng = random.Random(42)
    today = date(2026, 11, 29)
    entries = []
    for i in range(count):
        record = realistic_record(rng, category=CATEGORIES[i % len(CATEGORIES)],
                                  division_code="370102", today=today)  # fmt: skip
        # Shaped like a create op on the wire: positional header, fields as a map.
        fields = {k: list(v) if isinstance(v, tuple) else v for k, v in record.items()}
        entries.append(["c", f"{i:032x}", fields, "0193a1b2c3d40001@370102001-01", "li.na"])
    return entries


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    entries = make_entries(args.records)
    plain_bytes = sum(len(msgpack.packb(e)) for e in entries)
    sender, receiver = KeyPair.generate(secrets.token_bytes), KeyPair.generate(secrets.token_bytes)
    raw_sign = nacl.signing.SigningKey(sender.signing.seed)
    raw_verify = raw_sign.verify_key
    raw_recipient = pyrage.x25519.Recipient.from_str(receiver.age.recipient.text)
    raw_identity = pyrage.x25519.Identity.from_str(receiver.age.secret_text())
    trust = StaticTrust.of([sender.signing.public_key])
    holder: dict[str, Any] = {}

    def raw_seal() -> None:
        packer = msgpack.Packer()
        payload = zstandard.ZstdCompressor(level=3).compress(
            b"".join(packer.pack(e) for e in entries)
        )
        ciphertext = pyrage.encrypt(payload, [raw_recipient])
        signature = raw_sign.sign(hashlib.blake2b(ciphertext).digest()).signature
        holder["raw"] = (ciphertext, signature)

    def raw_open() -> None:
        ciphertext, signature = holder["raw"]
        raw_verify.verify(hashlib.blake2b(ciphertext).digest(), signature)
        payload = pyrage.decrypt(ciphertext, [raw_identity])
        data = zstandard.ZstdDecompressor().decompress(payload, max_output_size=1 << 30)
        holder["raw_out"] = list(msgpack.Unpacker(io.BytesIO(data), raw=False))

    def muster_seal() -> None:
        out, spool = io.BytesIO(), io.BytesIO()
        seal_bundle(
            entries, kind=BundleKind.DELTA, sender="370102001-01", recipient="370102", seq=1,
            prev=None, created=datetime.now(UTC), bundle_id=secrets.token_hex(16),
            signer=sender.signing, recipients=[receiver.age.recipient], out=out, spool=spool,
        )  # fmt: skip
        holder["bundle"] = out.getvalue()

    def muster_open() -> None:
        opened = open_bundle(io.BytesIO(holder["bundle"]), trust=trust, identities=[receiver.age])
        holder["out"] = list(opened.entries())

    # Warm up, and check both pipelines give the records back.
    raw_seal(), raw_open(), muster_seal(), muster_open()
    assert holder["out"] == holder["raw_out"] == entries

    results: dict[str, list[float]] = {"raw seal": [], "seal": [], "raw open": [], "open": []}
    for _ in range(args.repeat):  # interleaved: drift hits both sides alike
        results["raw seal"] += timed(raw_seal, 1)
        results["seal"] += timed(muster_seal, 1)
        results["raw open"] += timed(raw_open, 1)
        results["open"] += timed(muster_open, 1)

    bundle_mb = len(holder["bundle"]) / 1e6
    print(f"{args.records} realistic records, {plain_bytes / 1e6:.1f} MB as msgpack, "
          f"bundle {bundle_mb:.2f} MB; medians of {args.repeat} runs")  # fmt: skip
    medians = {name: statistics.median(times) for name, times in results.items()}
    for name, seconds in medians.items():
        print(f"  {name:9s} {seconds * 1e3:8.1f} ms  {args.records / seconds:10,.0f} records/s  "
              f"{plain_bytes / seconds / 1e6:7.1f} MB/s")  # fmt: skip
    print(f"seal/raw = {medians['raw seal'] / medians['seal']:.2f}")
    print(f"open/raw = {medians['raw open'] / medians['open']:.2f}")


if __name__ == "__main__":
    main()
