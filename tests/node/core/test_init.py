"""``init_node``: what can be refused is refused before a file is written; a step that
fails later leaves the data directory as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import pytest

from crypto.keystore import KDF_INTERACTIVE
from node.errors import FormError
from node.fsutil import undone_on_failure
from node.services import init_node
from protocol.trust.anchor import anchor_to_bytes
from tests.node.core.helpers import ADMIN, NODE_ID, PASSPHRASE
from tests.pki import Pki


def _init(pki: Pki, data_dir: Path, *, login: str = ADMIN[0], password: str = ADMIN[2]) -> Path:
    return init_node(
        data_dir,
        node_id=NODE_ID,
        name="历下区某街道采集点",
        anchor_data=anchor_to_bytes(pki.anchor),
        passphrase=PASSPHRASE,
        admin_login=login,
        admin_name=ADMIN[1],
        admin_password=password,
        kdf=KDF_INTERACTIVE,
    )


@pytest.mark.parametrize(
    ("login", "password", "message"),
    [
        ("admin", "short", "password: expected at least 8 characters"),
        ("Admin", ADMIN[2], "login: expected 2 to 32 lowercase letters"),
        ("admin", "x" * 1025, "password: expected at most 1024 characters"),
    ],
)
def test_a_refused_administrator_is_refused_before_anything_is_written(
    pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, login: str, password: str,
    message: str,
) -> None:  # fmt: skip
    def no_writing(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise AssertionError("a file was written before the administrator was checked")

    monkeypatch.setattr("node.services.enrollment.write_atomic", no_writing)
    with pytest.raises(FormError, match=message):
        _init(pki, tmp_path / "node", login=login, password=password)
    assert not (tmp_path / "node").exists()


@pytest.mark.parametrize("existing", [True, False])
def test_a_step_that_fails_late_leaves_the_directory_as_it_was(
    pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise OSError(28, "No space left on device")

    data_dir = tmp_path / "parent" / "node"
    if existing:
        data_dir.mkdir(parents=True)
    monkeypatch.setattr("node.services.enrollment.make_enrollment_request", refuse)
    with pytest.raises(OSError, match="No space left"):
        _init(pki, data_dir)
    if existing:
        assert list(data_dir.iterdir()) == []
    else:
        assert list(tmp_path.iterdir()) == []  # the parent it made is gone too
    monkeypatch.undo()
    assert _init(pki, data_dir) == data_dir / "enrollment-request.json"
    assert (data_dir / "node.toml").is_file()


def test_undone_on_failure_keeps_what_was_there(tmp_path: Path) -> None:
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "old").write_text("old", "utf-8")
    (tmp_path / "note").write_text("note", "utf-8")

    def interrupted() -> None:
        with undone_on_failure(tmp_path):
            (tmp_path / "kept" / "new").write_text("new", "utf-8")
            (tmp_path / "made" / "deeper").mkdir(parents=True)
            (tmp_path / "made" / "deeper" / "file").write_text("x", "utf-8")
            (tmp_path / "also").write_text("x", "utf-8")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "kept",
        "kept/old",
        "note",
    ]
    with undone_on_failure(tmp_path):  # no failure: nothing is removed
        (tmp_path / "made").mkdir()
    assert (tmp_path / "made").is_dir()
