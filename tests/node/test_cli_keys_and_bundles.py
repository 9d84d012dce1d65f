"""The first CLI commands: keys and bundles, run as a user or an auditor would."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from node.cli.main import main
from tests.conftest import require_tool

ENTRIES = [
    {"op": "create", "name": "张秀兰", "fields": {"sex": "2", "tags": ["a", "b"]}},
    {"n": 1, "f": 2.5, "none": None, "ok": True, "nested": {"deep": [1, [2, [3]]]}},
    [1, "two", 3.0],
    "a bare string",
]


@pytest.fixture
def world(tmp_path: Path) -> Path:
    (tmp_path / "pw").write_text("correct horse battery\n")
    for name, owner in (("node", "370102001-01"), ("hub", "370102")):
        rc = main(["keys", "new", str(tmp_path / name), "--id", owner,
                   "--passphrase-file", str(tmp_path / "pw"), "--kdf", "interactive"])  # fmt: skip
        assert rc == 0
    (tmp_path / "e.jsonl").write_text(
        "\n".join(json.dumps(e, ensure_ascii=False) for e in ENTRIES) + "\n", "utf-8"
    )
    return tmp_path


def _seal(world: Path, *extra: str) -> int:
    return main([
        "bundle", "seal", "--key", str(world / "node"), "--to", str(world / "hub" / "age.pub"),
        "--kind", "delta", "--seq", "1", "--passphrase-file", str(world / "pw"),
        str(world / "e.jsonl"), str(world / "B"), *extra,
    ])  # fmt: skip


def test_keys_new_writes_public_files_and_a_private_keystore(world: Path) -> None:
    node = world / "node"
    assert sorted(p.name for p in node.iterdir()) == ["age.pub", "id", "keystore.json", "sign.pub"]
    assert stat.S_IMODE((node / "keystore.json").stat().st_mode) == 0o600
    assert (node / "id").read_text().strip() == "370102001-01"
    assert (node / "age.pub").read_text().startswith("# id: 370102001-01\nage1")


def test_keys_new_refuses_to_overwrite(world: Path, capsys) -> None:
    rc = main(["keys", "new", str(world / "node"), "--passphrase-file", str(world / "pw")])
    assert rc == 3
    assert "already exists; refusing to overwrite keys" in capsys.readouterr().err


def test_seal_then_open_gives_the_entries_back_exactly(world: Path, capsys) -> None:
    assert _seal(world) == 0
    capsys.readouterr()
    rc = main(["bundle", "open", str(world / "B"), "--identity", str(world / "hub"),
               "--signer", str(world / "node" / "sign.pub"),
               "--passphrase-file", str(world / "pw")])  # fmt: skip
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == ENTRIES


def test_inspect_prints_the_unverified_header(world: Path, capsys) -> None:
    _seal(world)
    capsys.readouterr()
    assert main(["bundle", "inspect", str(world / "B")]) == 0
    header = json.loads(capsys.readouterr().out)
    assert (header["from"], header["to"], header["kind"], header["count"]) == (
        "370102001-01",
        "370102",
        "delta",
        4,
    )


def test_verify_against_the_wrong_signer_fails_with_one_line(world: Path, capsys) -> None:
    _seal(world)
    capsys.readouterr()
    rc = main(["bundle", "verify", str(world / "B"), "--signer", str(world / "hub" / "sign.pub")])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("muster: error: bundle ")
    assert "which this receiver does not know" in err
    assert "Traceback" not in err


def test_a_wrong_passphrase_is_one_clear_line(world: Path, capsys) -> None:
    (world / "bad").write_text("nope\n")
    rc = main(["keys", "export-age-identity", str(world / "hub"),
               "--passphrase-file", str(world / "bad")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1
    assert "muster: error: keystore: wrong passphrase" in err


@pytest.mark.parametrize(
    "line",
    ["{not json}", '{"n": ' + "9" * 5000 + "}", "[" * 100_000 + "]" * 100_000],
    ids=["syntax", "integer-over-4300-digits", "nested-too-deep"],
)
def test_a_bad_entries_line_names_the_line_and_leaves_no_file(
    world: Path, capsys, line: str
) -> None:
    (world / "e.jsonl").write_text('{"ok": 1}\n' + line + "\n")
    assert _seal(world) == 1
    assert "e.jsonl line 2: not valid JSON" in capsys.readouterr().err
    assert not (world / "B").exists()
    assert not list(world.glob(".B.*"))


def test_seq_after_one_needs_prev(world: Path, capsys) -> None:
    rc = main([
        "bundle", "seal", "--key", str(world / "node"), "--to", str(world / "hub" / "age.pub"),
        "--kind", "delta", "--seq", "2", str(world / "e.jsonl"), str(world / "B"),
    ])  # fmt: skip
    assert rc == 2
    assert "seq 2 needs --prev" in capsys.readouterr().err


@pytest.mark.interop
def test_the_auditor_commands_in_protocol_md_work_with_stock_tools(world: Path) -> None:
    """The exact commands docs/protocol.md gives an auditor."""
    require_tool("minisign")
    require_tool("age")
    require_tool("b2sum")
    assert _seal(world) == 0
    muster = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "muster")
    script = f"""
set -eu
cd {world}
head -n 4 B > B.minisig
tail -n +5 B > B.age
minisign -Vm B.age -x B.minisig -p node/sign.pub
{muster} keys export-age-identity hub --passphrase-file pw > hub.key
age -d -i hub.key B.age > B.payload
b2sum B.payload
"""
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Signature and comment signature verified" in done.stdout
    header = json.loads(done.stdout.split("Trusted comment: ", 1)[1].splitlines()[0])
    assert done.stdout.splitlines()[-1].split()[0] == header["payload"]["b2"]
