"""`muster demo --cores` walks a batch through the pure cores and reports what they did."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.cli.main import main


def test_the_demo_walks_a_batch_through_the_cores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--cores", "--records", "24", "--dir", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "24 create ops; validation problems: 0" in out
    assert "authorisation all check out" in out
    assert "open conflicts: 1; duplicate ID numbers: 1" in out
    assert "conflict 1, duplicate 1" in out
    assert not (tmp_path / "run" / "cores").exists()
