"""`muster demo` runs end to end and reports what the cores did."""

from __future__ import annotations

from pathlib import Path

from node.cli.main import main


def test_the_demo_walks_a_batch_through_the_cores(tmp_path: Path, capsys) -> None:
    assert main(["demo", "--records", "24", "--dir", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "24 create ops; validation problems: 0" in out
    assert "authorisation all check out" in out
    assert "open conflicts: 1; duplicate ID numbers: 1" in out
    assert "conflict 1, duplicate 1" in out
    assert not (tmp_path / "run").exists()
