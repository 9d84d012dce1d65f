"""Golden bundle and attack assets: committed files still behave, and the script that
made them reproduces them (header and decrypted payload byte for byte)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import protocol.errors
from crypto.age import decrypt_bytes
from protocol.bundle import BundleLimits, open_bundle
from protocol.trust import CertificateTrust, RevocationList
from tests.pki import NOW
from tests.vectors.make_bundles import GOLDEN_ENTRIES, HERE, build, vector_pki

PKI = vector_pki()
EXPECTATIONS: dict[str, dict[str, str]] = json.loads((HERE / "expectations.json").read_text())
LIMITS = BundleLimits(max_bundle_bytes=200_000)


def _trust(directory: Path, asset: str) -> CertificateTrust:
    store = PKI.store()
    if asset == "revoked-signer.bundle":
        crl = RevocationList.from_bytes((directory / "revoked-signer.crl").read_bytes())
        store = store.with_revocation_list(crl)
    return CertificateTrust(store, NOW)


def _open_all(directory: Path, asset: str) -> list[object]:
    with (directory / asset).open("rb") as source:
        opened = open_bundle(
            source, trust=_trust(directory, asset), identities=[PKI["district"].keys.age],
            limits=LIMITS,
        )  # fmt: skip
        return list(opened.entries())


def _payload(directory: Path) -> bytes:
    data = (directory / "golden.bundle").read_bytes()
    return decrypt_bytes(data.split(b"\n", 4)[4], [PKI["district"].keys.age])


def test_the_committed_golden_bundle_opens_to_its_entries() -> None:
    assert _open_all(HERE, "golden.bundle") == GOLDEN_ENTRIES


@pytest.mark.parametrize("asset", sorted(EXPECTATIONS))
def test_each_committed_attack_asset_fails_as_expected(asset: str) -> None:
    expected = EXPECTATIONS[asset]
    error = getattr(protocol.errors, expected["error"])
    with pytest.raises(error, match=expected["match"]):
        _open_all(HERE, asset)


def test_the_script_reproduces_the_vectors(tmp_path: Path) -> None:
    expectations = build(tmp_path)
    assert expectations == EXPECTATIONS
    assert (tmp_path / "golden.header.json").read_text() == (
        HERE / "golden.header.json"
    ).read_text()
    assert _payload(tmp_path) == _payload(HERE)
    assert _open_all(tmp_path, "golden.bundle") == GOLDEN_ENTRIES
    for asset, expected in expectations.items():
        with pytest.raises(getattr(protocol.errors, expected["error"]), match=expected["match"]):
            _open_all(tmp_path, asset)


def test_the_golden_bundle_is_readable_as_a_stream() -> None:
    data = (HERE / "golden.bundle").read_bytes()
    opened = open_bundle(io.BytesIO(data), trust=_trust(HERE, "golden.bundle"),
                         identities=[PKI["district"].keys.age])  # fmt: skip
    assert opened.header.to_json() + "\n" == (HERE / "golden.header.json").read_text()
