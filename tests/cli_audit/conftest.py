"""Shared set-up of the bad-input audit: the ``muster`` command run as a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery\n"
#: A hang guard for one command, not a measure: a start alone (the imports) has taken
#: over 50 s on a loaded 2-core machine, so the 60 s this was failed commands that worked.
LIMIT = 300


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str


def muster(*args: str | Path, cwd: Path) -> Done:
    """Run ``muster ARGS…`` in a new process (no debug tracebacks), with a time limit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSTER_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "node.cli.main", *map(str, args)],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=LIMIT,
        check=False,
    )
    return Done(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(done: Done, code: int, text: str) -> None:
    """The command failed with ``code`` and one ``muster: error:`` line holding ``text``."""
    assert "Traceback" not in done.err, done.err
    errors = [line for line in done.err.splitlines() if not line.startswith("muster: hint:")]
    assert len(errors) == 1, done.err
    assert errors[0].startswith("muster: error: "), done.err
    assert text in errors[0], done.err
    assert done.code == code, done.err


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A directory with a passphrase file, a non-UTF-8 file and a plain file."""
    (tmp_path / "pass").write_text(PASSPHRASE, "utf-8")
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x80 not text\n")
    (tmp_path / "plain").write_text("just a file\n", "utf-8")
    return tmp_path


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root ceremony directory and a hub made from it (not enrolled), made once."""
    base = tmp_path_factory.mktemp("province")
    (base / "pass").write_text(PASSPHRASE, "utf-8")
    done = muster("root", "init", "--dir", "root", "--site", "370000",
                  "--passphrase-file", "pass", "--kdf", "interactive", cwd=base)  # fmt: skip
    assert done.code == 0, done.err
    done = muster("hub", "init", "--site", "370100", "--name", "City", "--data", "hub",
                  "--root", "root/anchor.json", "--passphrase-file", "pass",
                  "--kdf", "interactive", cwd=base)  # fmt: skip
    assert done.code == 0, done.err
    return base
