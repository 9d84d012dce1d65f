"""``muster node …`` and ``muster collector simulate`` given bad input: nothing left behind."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.cli_audit.conftest import LIMIT, assert_one_line_error, muster


def _node_init(data: str, password_file: str) -> list[str]:
    return ["node", "init", "--site", "370102", "--name", "Town", "--data", data,
            "--root", "root/anchor.json", "--admin", "admin", "--admin-password-file",
            password_file, "--passphrase-file", "pass", "--kdf", "interactive"]  # fmt: skip


@pytest.fixture
def here(province: Path, work: Path) -> Path:
    shutil.copytree(province / "root", work / "root")
    (work / "short").write_text("short\n", "utf-8")
    (work / "good").write_text("admin-password-123\n", "utf-8")
    return work


def test_node_init_with_a_refused_password_leaves_no_half_made_node(here: Path) -> None:
    done = muster(*_node_init("node", "short"), cwd=here)
    assert_one_line_error(done, 1, "password: expected at least 8 characters")
    assert not (here / "node").exists()
    again = muster(*_node_init("node", "good"), cwd=here)
    assert again.code == 0, again.err
    assert (here / "node" / "node.toml").is_file()


@pytest.mark.parametrize("data", ["plain", "plain/node"])
def test_node_init_where_a_file_is(here: Path, data: str) -> None:
    done = muster(*_node_init(data, "good"), cwd=here)
    assert_one_line_error(done, 1, f"cannot make the node in {data}")
    assert (here / "plain").read_text("utf-8") == "just a file\n"


@pytest.mark.parametrize("link", ["plain/reader", "adir"])
def test_simulate_with_a_link_that_cannot_be_made(work: Path, link: str) -> None:
    (work / "adir").mkdir()
    done = muster("collector", "simulate", "--link", link, "--duration", "1", cwd=work)
    assert_one_line_error(done, 2, f"--link {link}: expected a new file name")
    assert list((work / "adir").iterdir()) == []
    assert not (work / "adir.new").exists()


@pytest.mark.parametrize(
    ("admin", "password_file", "message"),
    [
        ("admin", "short", "password: expected at least 8 characters"),
        ("Admin", "good", "login: expected 2 to 32 lowercase letters"),
    ],
)
def test_node_init_into_an_empty_directory_that_is_refused_leaves_it_empty(
    here: Path, admin: str, password_file: str, message: str
) -> None:
    (here / "node").mkdir()
    args = _node_init("node", password_file)
    args[args.index("--admin") + 1] = admin
    done = muster(*args, cwd=here)
    assert_one_line_error(done, 1, message)
    assert list((here / "node").iterdir()) == []


def test_node_commands_on_a_missing_data_directory_say_which(here: Path) -> None:
    done = muster("node", "status", "--data", "missing", "--passphrase-file", "pass", cwd=here)
    assert_one_line_error(done, 2, "data directory missing does not exist")
    assert "run `muster node init` to make one" in done.err
    assert not (here / "missing").exists()


def test_node_commands_on_a_directory_without_node_toml_say_what_it_is_not(here: Path) -> None:
    (here / "empty").mkdir()
    done = muster("node", "status", "--data", "empty", "--passphrase-file", "pass", cwd=here)
    assert_one_line_error(done, 2, "empty holds no node.toml, so it is not a node's data directory")
    assert list((here / "empty").iterdir()) == []


@pytest.mark.parametrize(
    ("port", "reason"),
    [
        ("/dev/does-not-exist", "No such file or directory"),
        ("adir", "Is a directory"),
        ("plain", "not a serial device"),
        pytest.param(
            "locked",
            "Permission denied",
            marks=pytest.mark.skipif(os.geteuid() == 0, reason="root opens any file"),
        ),
    ],
)
def test_read_card_on_a_port_that_cannot_be_opened_fails_at_once(
    work: Path, port: str, reason: str
) -> None:
    (work / "adir").mkdir()
    (work / "locked").write_bytes(b"")
    (work / "locked").chmod(0)
    # Not a measure of how long it took (a loaded machine spends seconds on the imports
    # alone): a --timeout beyond muster()'s hang guard, which fails the test with
    # TimeoutExpired if the command waited for it instead of failing at once.
    done = muster("node", "read-card", "--port", port, "--timeout", str(4 * LIMIT), cwd=work)
    assert_one_line_error(done, 1, f"cannot open the reader's port {port}: {reason}")
    assert done.out == ""
