"""A forged, foreign or tampered down bundle is refused at each hop, with nothing applied:
no record, no re-issued bundle, no inbox row, no move of the stream."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from crypto.keys import KeyPair
from hub.fromparent import accept_from_parent
from hub.store.models import DownBundle, ParentBundle, RecordRow, StreamRow
from node.errors import ForeignBundleError
from protocol.bundle import BundleKind
from protocol.entries import Problem, encode_entry
from protocol.errors import BadSignatureError, EntryError, StreamError
from protocol.hlc import Timestamp
from protocol.ops import Op, OpKind
from protocol.sample import realistic_record
from tests.hub.federation.downtree import TODAY, Tree, build_tree, close_tree
from tests.pki import NOW, Party, seal


@pytest.fixture
async def tree(tmp_path: Path) -> AsyncIterator[Tree]:
    built = await build_tree(tmp_path, nodes=["370102001-11"])
    try:
        yield built
    finally:
        await close_tree(built)


def _baseline_entries(count: int = 2) -> list[object]:
    rng = random.Random(5)
    ops = []
    for n in range(count):
        values = realistic_record(
            rng, category="retired_soldier", division_code="370102001", today=TODAY
        )
        ops.append(
            Op(
                kind=OpKind.CREATE,
                record_id=f"00000000-0000-4000-8000-{n:012d}",
                value={
                    k: v
                    for k, v in values.items()
                    if not str(v).startswith("b2:")
                    and not (isinstance(v, tuple) and any(str(i).startswith("b2:") for i in v))
                },
                hlc=Timestamp(wall_ms=int(NOW.timestamp() * 1000) + n, counter=0, node="370100"),
                author="370100/qian.li",
                site="370100",
            )
        )
    return [encode_entry(op) for op in ops]


def _district_unchanged(tree: Tree) -> None:
    district = tree.hubs["district"]
    with district.store.read() as session:
        for table in (RecordRow, ParentBundle, DownBundle):
            assert session.scalar(sa.select(sa.func.count()).select_from(table)) == 0, table
        stream = session.get(StreamRow, ("370100", "370102"))
        assert stream is None or stream.last_seq == 0
    assert not any(district.config.down_dir.glob("*.bundle"))


def _accept(tree: Tree, data: bytes) -> None:
    accept_from_parent(tree.hubs["district"], data, source="file")


def _forged(tree: Tree) -> bytes:
    forger = Party("370100", KeyPair.generate(random.Random(9).randbytes))
    return seal(
        _baseline_entries(), sender=forger, to=tree.pki["district"], kind=BundleKind.BASELINE
    )[0]


def _tampered(tree: Tree) -> bytes:
    data = bytearray(_sealed(tree, "city", "district", BundleKind.BASELINE))
    data[-40] ^= 0x01
    return bytes(data)


def _sealed(tree: Tree, sender: str, to: str, kind: BundleKind) -> bytes:
    return seal(_baseline_entries(), sender=tree.pki[sender], to=tree.pki[to], kind=kind)[0]


ATTACKS: dict[str, tuple[Callable[[Tree], bytes], type[Exception], str]] = {
    "from_the_grandparent": (
        lambda t: _sealed(t, "province", "district", BundleKind.BASELINE),
        ForeignBundleError,
        "is from 370000, not from this hub's parent 370100",
    ),
    "signed_by_an_unknown_key": (_forged, BadSignatureError, "which this receiver does not know"),
    "tampered": (_tampered, BadSignatureError, "signature"),
    "for_another_district": (
        lambda t: _sealed(t, "city", "other_district", BundleKind.BASELINE),
        ForeignBundleError,
        "is addressed to 370103, not to 370102",
    ),
    "a_kind_that_never_comes_down": (
        lambda t: _sealed(t, "city", "district", BundleKind.PACKAGE),
        ForeignBundleError,
        "a package bundle, which a parent does not send down",
    ),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_a_bad_bundle_is_refused_at_the_district_and_changes_nothing(
    tree: Tree, attack: str
) -> None:
    make, error, message = ATTACKS[attack]
    with pytest.raises(error, match=message):
        await asyncio.to_thread(_accept, tree, make(tree))
    _district_unchanged(tree)


async def test_another_bundle_with_a_used_number_is_refused(tree: Tree) -> None:
    first, _ = seal(
        _baseline_entries(1),
        sender=tree.pki["city"],
        to=tree.pki["district"],
        kind=BundleKind.BASELINE,
        bundle_id="1" * 32,
    )
    await asyncio.to_thread(_accept, tree, first)
    other, _ = seal(
        [encode_entry(Problem(body={"id": "p"}))],
        sender=tree.pki["city"],
        to=tree.pki["district"],
        kind=BundleKind.PROBLEMS,
        bundle_id="2" * 32,
    )
    with pytest.raises(StreamError, match="seq 1"):
        await asyncio.to_thread(_accept, tree, other)
    with tree.hubs["district"].store.read() as session:
        assert session.scalars(sa.select(ParentBundle.bundle_id)).all() == ["1" * 32]
        assert session.get(StreamRow, ("370100", "370102")).last_seq == 1  # type: ignore[union-attr]


async def test_a_bad_entry_applies_nothing_of_the_bundle(tree: Tree) -> None:
    entries = [*_baseline_entries(2), ["op", [9, 9]]]  # the last op is malformed
    data, _ = seal(
        entries, sender=tree.pki["city"], to=tree.pki["district"], kind=BundleKind.BASELINE
    )
    with pytest.raises(EntryError, match="entry 2"):
        await asyncio.to_thread(_accept, tree, data)
    _district_unchanged(tree)


async def test_a_node_refuses_a_bundle_from_a_hub_that_is_not_its_parent(tree: Tree) -> None:
    node = tree.nodes["370102001-11"]
    receiver = Party("370102001-11", node.context.keys)
    data, _ = seal(
        _baseline_entries(), sender=tree.pki["city"], to=receiver, kind=BundleKind.BASELINE
    )
    path = tree.root / "foreign.bundle"
    path.write_bytes(data)
    report = await asyncio.to_thread(node.import_files, [path])
    [item] = report.items
    assert item.outcome == "rejected"
    assert "not from this node's parent 370102" in item.message
    assert node.search("") == []
