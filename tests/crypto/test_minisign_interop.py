"""Interop both ways with the stock minisign tool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from crypto.errors import SignatureError
from crypto.hashing import blake2b_512
from crypto.sign import MinisignSignature, PublicKey, SigningKey
from tests.conftest import require_tool

pytestmark = pytest.mark.interop


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def test_stock_minisign_verifies_our_signature(tmp_path: Path, rng) -> None:
    minisign = require_tool("minisign")
    key = SigningKey.generate(rng)
    data = b"payload " * 1000
    (tmp_path / "f").write_bytes(data)
    (tmp_path / "f.minisig").write_text(
        key.sign_minisign(blake2b_512(data), trusted_comment='{"kind":"delta"}').to_text()
    )
    (tmp_path / "k.pub").write_text(key.public_key.to_minisign())
    ok = _run(minisign, "-Vm", str(tmp_path / "f"), "-p", str(tmp_path / "k.pub"))
    assert ok.returncode == 0, ok.stderr
    assert 'Trusted comment: {"kind":"delta"}' in ok.stdout

    (tmp_path / "f").write_bytes(data + b"!")
    tampered = _run(minisign, "-Vm", str(tmp_path / "f"), "-p", str(tmp_path / "k.pub"))
    assert tampered.returncode != 0


def test_we_verify_a_signature_made_by_stock_minisign(tmp_path: Path) -> None:
    minisign = require_tool("minisign")
    made = _run(
        minisign, "-G", "-W", "-f", "-p", str(tmp_path / "s.pub"), "-s", str(tmp_path / "s.key")
    )
    assert made.returncode == 0, made.stderr
    data = b"signed by the stock tool\n"
    (tmp_path / "f").write_bytes(data)
    signed = _run(
        minisign,
        "-S",
        "-s",
        str(tmp_path / "s.key"),
        "-m",
        str(tmp_path / "f"),
        "-t",
        "audit trail",
    )
    assert signed.returncode == 0, signed.stderr

    public = PublicKey.from_minisign((tmp_path / "s.pub").read_text())
    signature = MinisignSignature.from_text((tmp_path / "f.minisig").read_text())
    assert signature.trusted_comment == "audit trail"
    signature.verify(public, prehash=blake2b_512(data))
    with pytest.raises(SignatureError):
        signature.verify(public, prehash=blake2b_512(data + b"x"))
