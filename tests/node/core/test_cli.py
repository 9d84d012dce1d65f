"""``muster node …`` end to end in one process: init, enroll, accounts, status, transfer,
audit; errors become one line on stderr and an exit code."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from node.cli.main import EXIT_INPUT, EXIT_STATE, main
from protocol.trust import Role
from protocol.trust.anchor import anchor_to_bytes
from tests.node.core.helpers import PASSPHRASE, certify
from tests.pki import Pki


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pki: Pki) -> Path:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "passphrase").write_bytes(PASSPHRASE + b"\n")
    (secrets / "password").write_text("admin-password-1\n", "utf-8")
    (tmp_path / "anchor.json").write_bytes(anchor_to_bytes(pki.anchor))
    monkeypatch.setenv("MUSTER_PASSPHRASE_FILE", str(secrets / "passphrase"))
    monkeypatch.setenv("MUSTER_PASSWORD_FILE", str(secrets / "password"))
    monkeypatch.setenv("MUSTER_DATA", str(tmp_path / "node"))
    for key in ("MUSTER_NODE_PARENT_URL", "MUSTER_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    return tmp_path


def _init(env: Path) -> int:
    return main(
        [
            "node",
            "init",
            "--site",
            "370102001",
            "--machine",
            "1",
            "--name",
            "某街道采集点",
            "--data",
            str(env / "node"),
            "--root",
            str(env / "anchor.json"),
            "--kdf",
            "interactive",
        ]
    )


def test_init_makes_the_data_directory(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _init(env) == 0
    data = env / "node"
    for name in ("node.toml", "anchor.json", "node.db", "enrollment-request.json"):
        assert (data / name).is_file(), name
    keystore = data / "keys" / "keystore.json"
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert 'node_id = "370102001-01"' in (data / "node.toml").read_text("utf-8")
    assert "enrollment request" in capsys.readouterr().out
    assert _init(env) == EXIT_STATE
    assert "already holds a node" in capsys.readouterr().err


def test_the_whole_life_of_a_node_from_the_command_line(
    env: Path, pki: Pki, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _init(env) == 0
    data = env / "node"
    answer = env / "answer.json"
    answer.write_bytes(certify(pki, (data / "enrollment-request.json").read_bytes(), Role.NODE))
    assert main(["node", "enroll", str(answer)]) == 0
    assert "enrolled: 370102001-01 under 370102" in capsys.readouterr().out

    (env / "secrets" / "password").write_text("approver-pass-1\n", "utf-8")
    assert main(["node", "account", "add", "li.na", "--name", "李娜", "--role", "approver"]) == 0
    request = env / "request.json"
    assert main(["node", "account", "request", "li.na", "--out", str(request)]) == 0
    approver = env / "approver.json"
    approver.write_bytes(certify(pki, request.read_bytes(), Role.APPROVER))
    assert main(["node", "account", "certify", str(approver)]) == 0
    capsys.readouterr()
    assert main(["node", "account", "list"]) == 0
    listing = capsys.readouterr().out
    assert "li.na" in listing
    assert "certified" in listing

    assert main(["node", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["enrolled"], status["parent_id"], status["records"]) == (True, "370102", 0)

    usb = env / "usb"
    usb.mkdir()
    assert main(["node", "export", "--to", str(usb)]) == 0
    assert "nothing to export" in capsys.readouterr().out
    junk = usb / "junk.bin"
    junk.write_bytes(b"junk")
    assert main(["node", "import", str(junk)]) == 1
    assert "neither a bundle nor a receipt" in capsys.readouterr().out

    assert main(["node", "audit", "verify"]) == 0
    assert "audit log intact" in capsys.readouterr().out


def test_errors_are_one_line_and_an_exit_code(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _init(env) == 0
    capsys.readouterr()
    assert main(["node", "sync"]) == EXIT_INPUT
    assert capsys.readouterr().err.startswith("muster: error: no parent_url in node.toml")
    assert main(["node", "enroll", str(env / "missing.json")]) == EXIT_INPUT
    assert "cannot read" in capsys.readouterr().err
    (env / "secrets" / "passphrase").write_bytes(b"wrong passphrase\n")
    assert main(["node", "status"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "wrong passphrase" in err
    assert "Traceback" not in err
