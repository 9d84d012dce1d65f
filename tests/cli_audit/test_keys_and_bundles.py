"""``muster keys`` and ``muster bundle`` given files of the wrong kind: one line, an exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_audit.conftest import assert_one_line_error, muster


@pytest.fixture
def keys(work: Path) -> Path:
    done = muster("keys", "new", "k", "--id", "370102001-01", "--passphrase-file", "pass",
                  "--kdf", "interactive", cwd=work)  # fmt: skip
    assert done.code == 0, done.err
    (work / "e.jsonl").write_text('{"n": 1}\n', "utf-8")
    return work


def _seal(work: Path, key: str, out: str) -> list[str]:
    return ["bundle", "seal", "--key", key, "--to", "k/age.pub", "--kind", "delta",
            "--seq", "1", "--passphrase-file", "pass", "e.jsonl", out]  # fmt: skip


def test_verify_with_a_signer_key_that_is_not_text(keys: Path) -> None:
    assert muster(*_seal(keys, "k", "B"), cwd=keys).code == 0
    done = muster("bundle", "verify", "B", "--signer", "binary", cwd=keys)
    assert_one_line_error(done, 1, "signer key binary: not a minisign public key")


def test_open_with_a_signer_key_that_is_not_text(keys: Path) -> None:
    assert muster(*_seal(keys, "k", "B"), cwd=keys).code == 0
    done = muster("bundle", "open", "B", "--identity", "k", "--signer", "binary",
                  "--passphrase-file", "pass", cwd=keys)  # fmt: skip
    assert_one_line_error(done, 1, "signer key binary: not a minisign public key")


def test_open_with_a_file_for_the_identity_directory(keys: Path) -> None:
    assert muster(*_seal(keys, "k", "B"), cwd=keys).code == 0
    done = muster("bundle", "open", "B", "--identity", "plain", "--signer", "k/sign.pub",
                  "--passphrase-file", "pass", cwd=keys)  # fmt: skip
    assert_one_line_error(done, 2, "no keystore at plain/keystore.json")


def test_seal_with_a_file_for_the_key_directory(keys: Path) -> None:
    done = muster(*_seal(keys, "plain", "B"), cwd=keys)
    assert_one_line_error(done, 2, "no key directory at plain")
    assert not (keys / "B").exists()


@pytest.mark.parametrize("out", ["missing/B", "adir"])
def test_seal_to_an_output_that_cannot_be_written(keys: Path, out: str) -> None:
    (keys / "adir").mkdir()
    done = muster(*_seal(keys, "k", out), cwd=keys)
    assert_one_line_error(done, 1, f"cannot write {out}")
    assert not (keys / "missing").exists()
    assert list((keys / "adir").iterdir()) == []
    assert not [p for p in keys.iterdir() if p.name.endswith(".tmp")]


def test_export_age_identity_of_a_file(work: Path) -> None:
    done = muster("keys", "export-age-identity", "plain", "--passphrase-file", "pass", cwd=work)
    assert_one_line_error(done, 2, "no keystore at plain/keystore.json")


def test_export_age_identity_when_the_keystore_is_a_directory(work: Path) -> None:
    (work / "k" / "keystore.json").mkdir(parents=True)
    done = muster("keys", "export-age-identity", "k", "--passphrase-file", "pass", cwd=work)
    assert_one_line_error(done, 2, "no keystore at k/keystore.json")


@pytest.mark.parametrize("target", ["plain", "plain/sub"])
def test_keys_new_where_a_file_is(work: Path, target: str) -> None:
    done = muster("keys", "new", target, "--passphrase-file", "pass", "--kdf", "interactive",
                  cwd=work)  # fmt: skip
    assert_one_line_error(done, 1, f"cannot make the key directory {target}")
    assert (work / "plain").read_text("utf-8") == "just a file\n"
