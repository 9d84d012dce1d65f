"""``muster hub`` and ``muster root`` given bad paths and files: one line, nothing changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli_audit.conftest import PASSPHRASE, assert_one_line_error, muster


def _hub_init(cwd: Path, data: str, *extra: str) -> list[str]:
    return ["hub", "init", "--site", "370101", "--name", "District", "--data", data,
            "--root", "root/anchor.json", "--passphrase-file", "pass", "--kdf", "interactive",
            *extra]  # fmt: skip


@pytest.fixture
def here(province: Path, tmp_path: Path) -> Path:
    """A fresh directory next to the province's root and hub."""
    (tmp_path / "pass").write_text(PASSPHRASE, "utf-8")
    (tmp_path / "plain").write_text("just a file\n", "utf-8")
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x80 not text\n")
    shutil.copytree(province / "root", tmp_path / "root")
    return tmp_path


@pytest.mark.parametrize("data", ["plain", "plain/hub"])
def test_hub_init_where_a_file_is(here: Path, data: str) -> None:
    done = muster(*_hub_init(here, data), cwd=here)
    assert_one_line_error(done, 1, f"cannot make the data directory {data}")
    assert (here / "plain").read_text("utf-8") == "just a file\n"


def test_hub_init_on_a_directory_with_keys_changes_nothing(here: Path) -> None:
    (here / "node" / "keys").mkdir(parents=True)
    (here / "node" / "keys" / "keystore.json").write_text("{}", "utf-8")
    done = muster(*_hub_init(here, "node"), cwd=here)
    assert_one_line_error(done, 3, "node/keys/keystore.json already exists")
    assert sorted(p.name for p in (here / "node").iterdir()) == ["keys"]


@pytest.mark.parametrize("url", ["bogus://x", "not a url"])
def test_hub_init_with_an_unusable_db_url_leaves_nothing(here: Path, url: str) -> None:
    done = muster(*_hub_init(here, "hub", "--db", url), cwd=here)
    assert_one_line_error(done, 2, "--db: not a database URL the hub can use")
    assert not (here / "hub").exists()


def test_hub_account_add_with_a_password_file_that_is_not_text(province: Path, here: Path) -> None:
    done = muster("hub", "account", "add", "--data", province / "hub", "--passphrase-file",
                  "pass", "--login", "wang", "--name", "Wang", "--role", "admin",
                  "--password-file", "binary", cwd=here)  # fmt: skip
    assert_one_line_error(done, 1, "cannot read binary")


@pytest.mark.parametrize("target", ["missing", "plain"])
def test_hub_import_with_no_receipts_directory_takes_nothing_in(
    province: Path, here: Path, target: str
) -> None:
    (here / "B").write_bytes(b"not a bundle")
    bundles = province / "hub" / "bundles"
    before = sorted(bundles.iterdir())
    done = muster("hub", "import", "B", "--receipts-to", target, "--data", province / "hub",
                  "--passphrase-file", "pass", cwd=here)  # fmt: skip
    assert_one_line_error(done, 1, f"receipts directory {target} does not exist")
    assert sorted(bundles.iterdir()) == before


def test_hub_baseline_import_with_a_file_for_the_admin_key(province: Path, here: Path) -> None:
    (here / "extract.csv").write_text("name\nA\n", "utf-8")
    done = muster("hub", "baseline", "import", "extract.csv", "--data", province / "hub",
                  "--passphrase-file", "pass", "--admin-key", "plain",
                  "--admin-passphrase-file", "pass", cwd=here)  # fmt: skip
    assert_one_line_error(done, 1, "plain: not a key directory with a readable id file")


def test_root_init_where_a_file_is(here: Path) -> None:
    done = muster("root", "init", "--dir", "plain", "--site", "370000", "--passphrase-file",
                  "pass", "--kdf", "interactive", cwd=here)  # fmt: skip
    assert_one_line_error(done, 1, "cannot make the directory plain")


def test_root_certify_with_a_missing_ceremony_directory(province: Path, here: Path) -> None:
    done = muster("root", "certify", province / "hub" / "enrollment-request.json",
                  "--dir", "nowhere", "--out", "answer.json", "--passphrase-file", "pass",
                  cwd=here)  # fmt: skip
    assert_one_line_error(done, 2, "no root anchor at nowhere/anchor.json")
    assert not (here / "answer.json").exists()


@pytest.mark.parametrize("out", ["missing/answer.json", "adir"])
def test_root_certify_to_an_output_that_cannot_be_written(
    province: Path, here: Path, out: str
) -> None:
    (here / "adir").mkdir()
    done = muster("root", "certify", province / "hub" / "enrollment-request.json",
                  "--dir", "root", "--out", out, "--passphrase-file", "pass",
                  cwd=here)  # fmt: skip
    assert_one_line_error(done, 1, f"cannot write {out}")
    assert not (here / "missing").exists()
    assert list((here / "adir").iterdir()) == []
    assert not [p for p in here.iterdir() if p.name.endswith(".tmp")]


_HUB_COMMANDS = [
    ["hub", "status", "--data"],
    ["hub", "status", "--config"],
    ["hub", "run", "--passphrase-file", "pass", "--config"],
    ["hub", "run", "--passphrase-file", "pass", "--data"],
]


@pytest.mark.parametrize("command", _HUB_COMMANDS)
def test_hub_commands_on_a_missing_data_directory_say_which(here: Path, command: list[str]) -> None:
    done = muster(*command, "missing", cwd=here)
    assert_one_line_error(done, 2, "data directory missing does not exist")
    assert "run `muster hub init` to make one" in done.err
    assert not (here / "missing").exists()


@pytest.mark.parametrize("command", _HUB_COMMANDS)
def test_hub_commands_on_a_directory_without_hub_toml_say_what_it_is_not(
    here: Path, command: list[str]
) -> None:
    (here / "empty").mkdir()
    done = muster(*command, "empty", cwd=here)
    assert_one_line_error(done, 2, "empty holds no hub.toml, so it is not a hub's data directory")
    assert "run `muster hub init` to make one" in done.err
    assert list((here / "empty").iterdir()) == []


def _snapshot(directory: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(directory)): p.read_bytes() if p.is_file() else None
        for p in sorted(directory.rglob("*"))
    }


def _root_init(directory: str) -> list[str]:
    return ["root", "init", "--dir", directory, "--site", "370000", "--passphrase-file", "pass",
            "--kdf", "interactive"]  # fmt: skip


def test_root_init_in_a_hub_s_data_directory_says_so_and_changes_nothing(
    province: Path, here: Path
) -> None:
    shutil.copytree(province / "hub", here / "hub")
    before = _snapshot(here / "hub")
    done = muster(*_root_init("hub"), cwd=here)
    assert_one_line_error(done, 3, "hub is a hub's data directory (it holds hub.toml)")
    assert "root already" not in done.err
    assert _snapshot(here / "hub") == before


def test_root_init_in_a_node_s_data_directory_says_so(here: Path) -> None:
    (here / "node").mkdir()
    shutil.copy(here / "root" / "anchor.json", here / "node" / "anchor.json")
    (here / "node" / "node.toml").write_text('[node]\nnode_id = "370102001-01"\n', "utf-8")
    before = _snapshot(here / "node")
    done = muster(*_root_init("node"), cwd=here)
    assert_one_line_error(done, 3, "node is a node's data directory (it holds node.toml)")
    assert _snapshot(here / "node") == before


def test_root_init_where_a_root_is_says_so(here: Path) -> None:
    before = _snapshot(here / "root")
    done = muster(*_root_init("root"), cwd=here)
    assert_one_line_error(done, 3, "root holds a root already")
    assert _snapshot(here / "root") == before


def test_root_init_where_a_recovery_key_is_keeps_it(here: Path) -> None:
    (here / "ceremony").mkdir()
    (here / "ceremony" / "recovery.key").write_text("AGE-SECRET-KEY-1…\n", "utf-8")
    done = muster(*_root_init("ceremony"), cwd=here)
    assert_one_line_error(done, 3, "ceremony holds recovery.key already")
    assert _snapshot(here / "ceremony") == {"recovery.key": "AGE-SECRET-KEY-1…\n".encode()}
