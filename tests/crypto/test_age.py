"""age encryption through pyrage, and interop both ways with the stock age tool."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from crypto.age import (
    AGE_MAGIC,
    AgeIdentity,
    AgeRecipient,
    decrypt_bytes,
    decrypt_stream,
    encrypt_bytes,
    encrypt_stream,
)
from crypto.errors import DecryptionError, KeyFormatError, UsageError
from tests.conftest import require_tool


class _CountingSink:
    """Records how large each write is, to show the data moved in chunks."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.largest_write = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.largest_write = max(self.largest_write, len(data))
        return len(data)


def test_streams_round_trip_in_bounded_chunks() -> None:
    identity = AgeIdentity.generate()
    plaintext = bytes(range(256)) * 40_000  # 10 MiB
    ciphertext = _CountingSink()
    encrypt_stream(io.BytesIO(plaintext), ciphertext, [identity.recipient])
    assert bytes(ciphertext.buffer).startswith(AGE_MAGIC)
    out = _CountingSink()
    decrypt_stream(io.BytesIO(bytes(ciphertext.buffer)), out, [identity])
    assert bytes(out.buffer) == plaintext
    assert out.largest_write <= 1 << 20


def test_several_recipients_can_each_decrypt() -> None:
    hub, escrow = AgeIdentity.generate(), AgeIdentity.generate()
    ciphertext = encrypt_bytes(b"record", [hub.recipient, escrow.recipient])
    assert decrypt_bytes(ciphertext, [hub]) == b"record"
    assert decrypt_bytes(ciphertext, [escrow]) == b"record"


def test_wrong_identity_is_a_decryption_error() -> None:
    ciphertext = encrypt_bytes(b"x", [AgeIdentity.generate().recipient])
    with pytest.raises(DecryptionError, match="No matching keys"):
        decrypt_bytes(ciphertext, [AgeIdentity.generate()])


def test_truncated_stream_is_a_decryption_error() -> None:
    identity = AgeIdentity.generate()
    ciphertext = encrypt_bytes(b"y" * 100_000, [identity.recipient])
    with pytest.raises(DecryptionError, match="cannot decrypt"):
        decrypt_stream(io.BytesIO(ciphertext[:-7]), io.BytesIO(), [identity])


def test_a_failing_sink_keeps_its_own_error() -> None:
    identity = AgeIdentity.generate()
    ciphertext = encrypt_bytes(b"z" * 100_000, [identity.recipient])

    class DiskFull:
        def write(self, data: bytes) -> int:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left") as caught:
        decrypt_stream(io.BytesIO(ciphertext), DiskFull(), [identity])
    assert not isinstance(caught.value, DecryptionError)


def test_no_recipient_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="at least one recipient"):
        encrypt_bytes(b"", [])


@pytest.mark.parametrize("text", ["", "age1notarecipient", "AGE-SECRET-KEY-1XYZ"])
def test_malformed_recipients_are_rejected(text: str) -> None:
    with pytest.raises(KeyFormatError, match="age recipient"):
        AgeRecipient(text)


def test_identity_repr_and_file_text() -> None:
    identity = AgeIdentity.generate()
    assert identity.secret_text() not in repr(identity)
    again = AgeIdentity.from_file_text(identity.to_file_text())
    assert again.recipient == identity.recipient


@pytest.mark.interop
def test_stock_age_decrypts_ours_and_we_decrypt_stock_age(tmp_path: Path) -> None:
    age = require_tool("age")
    identity = AgeIdentity.generate()
    (tmp_path / "id.txt").write_text(identity.to_file_text())
    (tmp_path / "ours.age").write_bytes(encrypt_bytes(b"from muster\n", [identity.recipient]))
    out = subprocess.run(
        [age, "-d", "-i", str(tmp_path / "id.txt"), str(tmp_path / "ours.age")],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"from muster\n"

    (tmp_path / "plain").write_bytes(b"from the stock tool\n" * 10_000)
    made = subprocess.run(
        [
            age,
            "-r",
            identity.recipient.text,
            "-o",
            str(tmp_path / "theirs.age"),
            str(tmp_path / "plain"),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    sink = io.BytesIO()
    with (tmp_path / "theirs.age").open("rb") as source:
        decrypt_stream(source, sink, [identity])
    assert sink.getvalue() == (tmp_path / "plain").read_bytes()
