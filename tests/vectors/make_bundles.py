"""Make the golden bundle and one named asset per attack.

Run ``python -m tests.vectors.make_bundles [OUT_DIR]`` (default: this directory) to
regenerate. Everything is deterministic except age's ciphertext (age draws a fresh
ephemeral key and file key for every encryption, by design, and pyrage lets nobody
choose them), so ``test_vectors.py`` compares the *signed header* and the
*decrypted payload* byte for byte, and checks that every attack asset, committed or
regenerated, fails with the same error.

The keys are test keys: signing keys from fixed seeds (tests/pki.py), age
identities from ``test-identities.txt``. Never use them for anything else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from crypto.age import AgeIdentity
from crypto.hashing import blake2b_512
from crypto.keys import KeyPair
from protocol.bundle import BundleHeader, BundleKind
from protocol.bundle.seal import UNTRUSTED_COMMENT
from protocol.trust import RevocationReason, Revoked, Role, issue_revocation_list
from tests.pki import NOW, Party, Pki, seal, seeded_key

HERE = Path(__file__).resolve().parent / "bundles"

#: Realistic entries: ops as a node would send them (shape only; the hub checks meaning).
GOLDEN_ENTRIES: list[Any] = [
    {
        "op": "create",
        "record": "5f0c4b8e-3d2a-4e7b-9a61-0c2f3e4d5a6b",
        "fields": {
            "name": "王建国", "sex": "1", "ethnicity": "01", "birth_date": "1956-03-12",
            "id_number": "370102195603120017", "subject_category": ["retired_soldier"],
            "hukou_address": "山东省济南市历下区解放路12号",
        },
    },
    {"op": "set", "record": "5f0c4b8e-3d2a-4e7b-9a61-0c2f3e4d5a6b", "field": "phone",
     "value": "0531-86001234"},
    {"blob": "b2:" + "ab" * 32, "bytes": b"\xff\xd8\xff\xe0 not a real jpeg"},
]  # fmt: skip


def _ages(directory: Path) -> dict[str, AgeIdentity]:
    pairs = (line.split() for line in (directory / "test-identities.txt").read_text().splitlines())
    return {name: AgeIdentity(secret) for name, secret in pairs}


def _resign(pki: Pki, data: bytes, **change: Any) -> bytes:
    """The node, with its valid key, signing a header that lies about its payload."""
    lines = data.split(b"\n", 4)
    header = BundleHeader.from_json(lines[2].decode()[len("trusted comment: ") :])
    signature = pki["node"].keys.signing.sign_minisign(
        blake2b_512(lines[4]),
        trusted_comment=dataclasses.replace(header, **change).to_json(),
        untrusted_comment=UNTRUSTED_COMMENT,
    )
    return signature.to_bytes() + lines[4]


def vector_pki(source: Path = HERE) -> Pki:
    """The PKI the vectors are made with (and checked against): fixed keys throughout."""
    pki = Pki.build(_ages(source))
    pki.add("late", "370102002-01", Role.NODE, issuer="district",
            not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=10))  # fmt: skip
    pki.add("rogue", "370103002-01", Role.NODE, issuer="district")
    return pki


def build(out: Path, source: Path = HERE) -> dict[str, dict[str, str]]:
    """Write the golden bundle and the attack assets into ``out``; return the expectations."""
    out.mkdir(parents=True, exist_ok=True)
    pki = vector_pki(source)
    node, district = pki["node"], pki["district"]
    golden, sealed = seal(GOLDEN_ENTRIES, sender=node, to=district)
    assets: dict[str, bytes] = {"golden.bundle": golden}

    # One second later in the signed creation time: still valid JSON, no longer signed.
    assets["tampered-header.bundle"] = golden.replace(b"T12:00:00Z", b"T12:00:01Z", 1)
    flip = bytearray(golden)
    flip[-100] ^= 0x40
    assets["tampered-ciphertext.bundle"] = bytes(flip)
    assets["truncated.bundle"] = golden[:-40]
    other = pki["other_district"]
    assets["wrong-recipient.bundle"] = seal(GOLDEN_ENTRIES, sender=node, to=other)[0]
    # Someone claiming to be the node with a key no certificate names.
    intruder = Party(node.subject, KeyPair(seeded_key("intruder"), pki.ages["intruder"]))
    assets["untrusted-signer.bundle"] = seal(GOLDEN_ENTRIES, sender=intruder, to=district)[0]
    assets["wrong-role.bundle"] = seal(
        GOLDEN_ENTRIES, sender=node, to=district, kind=BundleKind.PACKAGE
    )[0]
    assets["expired-signer.bundle"] = seal(GOLDEN_ENTRIES, sender=pki["late"], to=district)[0]
    assets["outside-jurisdiction.bundle"] = seal(GOLDEN_ENTRIES, sender=pki["rogue"], to=district)[
        0
    ]
    assets["payload-mismatch.bundle"] = _resign(pki, golden, payload_b2="0" * 128)
    assets["relayed-payload.bundle"] = _resign(pki, golden, bundle_id="f" * 32)
    deep: Any = "leaf"
    for _ in range(40):
        deep = [deep]
    assets["entries-too-deep.bundle"] = seal([deep], sender=node, to=district)[0]
    incompressible = hashlib.shake_256(b"oversized").digest(300_000)
    assets["oversized.bundle"] = seal([incompressible], sender=node, to=district)[0]

    crl = issue_revocation_list(
        issuer_key=district.keys.signing, issuer=district.subject, number=1, issued_at=NOW,
        entries=[Revoked(serial=node.cert.serial, revoked_at=NOW - timedelta(hours=1),
                         reason=RevocationReason.CESSATION)],
    )  # fmt: skip
    assets["revoked-signer.bundle"] = golden
    (out / "revoked-signer.crl").write_bytes(crl.to_bytes())

    for name, data in assets.items():
        (out / name).write_bytes(data)
    (out / "golden.header.json").write_text(sealed.header.to_json() + "\n")
    expectations = {
        "tampered-header.bundle": {"error": "BadSignatureError", "match": "does not verify"},
        "tampered-ciphertext.bundle": {"error": "BadSignatureError", "match": "does not verify"},
        "truncated.bundle": {"error": "BadSignatureError", "match": "does not verify"},
        "wrong-recipient.bundle": {"error": "PayloadDecryptError", "match": "cannot be decrypted"},
        "untrusted-signer.bundle": {"error": "BadSignatureError", "match": "does not know"},
        "wrong-role.bundle": {"error": "UntrustedSignerError", "match": "may not send package"},
        "expired-signer.bundle": {"error": "UntrustedSignerError", "match": "valid from"},
        "outside-jurisdiction.bundle": {"error": "UntrustedSignerError", "match": "jurisdiction"},
        "payload-mismatch.bundle": {"error": "PayloadMismatchError", "match": "hash or size"},
        "relayed-payload.bundle": {"error": "PayloadMismatchError", "match": "payload id"},
        "entries-too-deep.bundle": {"error": "EntryLimitError", "match": "nested deeper"},
        "oversized.bundle": {"error": "BundleTooLargeError", "match": "limit 200000"},
        "revoked-signer.bundle": {"error": "UntrustedSignerError", "match": "was revoked"},
    }  # fmt: skip
    (out / "expectations.json").write_text(json.dumps(expectations, indent=2) + "\n")
    return expectations


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    build(target)
    print(f"wrote golden bundle and attack assets to {target}")
