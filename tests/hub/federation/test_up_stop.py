"""Packaging for the parent given up because the hub is stopping (docs/hub.md §7): in
the middle of sealing a package, nothing is left of it, and the next run makes it whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import hub.upward.building as building
from hub.errors import StoppingError
from hub.upward.building import build_packages
from hub.upward.oplog import Cursor, LoggedOp, get_cursor
from node.services.stopping import Stopping
from tests.hub.federation.uptree import UpTree


def test_packaging_given_up_while_sealing_leaves_nothing_and_is_done_whole_later(
    tree: UpTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = tree.collect("town", 5)
    ctx = tree["district"]
    real = building.ops_between
    reads: list[int] = []

    def ops_between(*args: Any, **kwargs: Any) -> Iterator[LoggedOp]:
        reads.append(1)
        for number, op in enumerate(real(*args, **kwargs)):
            if len(reads) == 3 and number == 1:  # planned, scanned, two ops sealed
                ctx.stopping.set()
            yield op

    monkeypatch.setattr(building, "ops_between", ops_between)
    with pytest.raises(StoppingError):
        build_packages(ctx)
    assert len(reads) == 3
    assert tree.up_bundles("district") == []
    with ctx.store.read() as session:
        assert get_cursor(session) == Cursor()
    up = ctx.config.data_dir / "up"
    assert not up.exists() or not list(up.iterdir())
    assert not list(ctx.config.scratch_dir.glob("up-*"))

    monkeypatch.undo()
    ctx.stopping = Stopping()  # the next start
    [package] = tree.package("district")
    assert (package.state, package.seq, package.ops) == ("pending", 1, len(ids))
