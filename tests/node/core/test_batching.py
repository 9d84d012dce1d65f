"""Splitting draft ops into batches: properties over random sizes and limits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from node.services.batching import Item, plan_batches

#: Six blobs, each with its one size.
BLOBS = {f"b2:{n:064x}": 1 + n * 4_000 for n in range(6)}
items = st.lists(
    st.builds(
        Item,
        size=st.integers(1, 5_000),
        blobs=st.lists(st.sampled_from(sorted(BLOBS)), max_size=3, unique=True).map(
            lambda refs: tuple((ref, BLOBS[ref]) for ref in refs)
        ),
    ),
    max_size=40,
)


@given(items, st.integers(1, 10), st.integers(1, 60_000))
def test_every_op_once_in_order_within_the_limits(
    ops: list[Item], max_ops: int, max_bytes: int
) -> None:
    plan = plan_batches(ops, max_ops=max_ops, max_bytes=max_bytes)
    assert [i for batch in plan for i in batch.items] == list(range(len(ops)))
    for batch in plan:
        assert 1 <= len(batch.items) <= max_ops
        cost = sum(ops[i].size for i in batch.items) + sum(BLOBS[b] for b in batch.blobs)
        assert cost <= max_bytes or len(batch.items) == 1


@given(items, st.integers(1, 10), st.integers(1, 60_000))
def test_each_blob_travels_once_with_the_first_op_that_needs_it(
    ops: list[Item], max_ops: int, max_bytes: int
) -> None:
    plan = plan_batches(ops, max_ops=max_ops, max_bytes=max_bytes)
    carried = [b for batch in plan for b in batch.blobs]
    assert len(carried) == len(set(carried))
    assert set(carried) == {ref for item in ops for ref, _n in item.blobs}
    for batch in plan:
        first = min(batch.items)
        for blob in batch.blobs:
            needers = [i for i, item in enumerate(ops) if blob in dict(item.blobs)]
            assert min(needers) in batch.items
            assert min(needers) >= first


def test_one_batch_when_everything_fits() -> None:
    plan = plan_batches([Item(size=10), Item(size=10)], max_ops=5, max_bytes=100)
    assert [b.items for b in plan] == [(0, 1)]
