"""Hypothesis strategies for clocks, ops and op histories, shared by the protocol tests.

``histories()`` simulates a few sites that create records, edit each other's
records from the versions they have seen, delete, merge, resolve conflicts and
sync with each other, each with its own drifting wall clock. It returns every op
made, which the tests then deliver to a fresh replica in many orders.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from protocol.hlc import MAX_COUNTER, MAX_WALL_MS, NODE_ID_PATTERN, HybridClock, Timestamp
from protocol.merge import DEFAULT_POLICY, STATUS_PENDING, RecordState, apply_op
from protocol.ops import FIELD_NAME_PATTERN, STATUS_FIELD, Op, OpKind, Value

node_ids = st.from_regex(NODE_ID_PATTERN, fullmatch=True)
field_names = st.from_regex(FIELD_NAME_PATTERN, fullmatch=True)
record_ids = st.uuids().map(str)
op_ids = st.binary(min_size=16, max_size=16).map(bytes.hex)
authors = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "S"]), min_size=1, max_size=64
)
texts = st.text(st.characters(codec="utf-8"), max_size=40)

timestamps = st.builds(
    Timestamp,
    wall_ms=st.integers(0, MAX_WALL_MS),
    counter=st.integers(0, MAX_COUNTER),
    node=node_ids,
)

#: Canonical values: everything an op may carry in a field.
values: st.SearchStrategy[Value] = st.one_of(
    texts,
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(texts, max_size=4).map(tuple),
)


@st.composite
def ops(draw: st.DrawFn) -> Op:
    """Any well-formed op, of any kind."""
    kind = draw(st.sampled_from(OpKind))
    hlc = draw(timestamps)
    record_id = draw(record_ids)
    common: dict[str, Any] = {
        "kind": kind,
        "record_id": record_id,
        "hlc": hlc,
        "site": hlc.node,
        "author": draw(authors),
        "reason": draw(st.none() | st.text(st.characters(codec="utf-8"), min_size=1, max_size=200)),
    }
    if kind is OpKind.CREATE:
        return Op(value=draw(st.dictionaries(field_names, values, max_size=8)), **common)
    base = tuple(draw(st.lists(op_ids, max_size=4)))
    record_base = draw(st.none() | op_ids)
    if kind is OpKind.SET:
        return Op(
            field=draw(field_names),
            value=draw(values),
            base=base,
            record_base=record_base,
            **common,
        )
    value = draw(record_ids.filter(lambda r: r != record_id)) if kind is OpKind.MERGE_INTO else None
    return Op(value=value, base=base, record_base=record_base, **common)


# --- histories -------------------------------------------------------------------

#: The fields the simulated sites write: two identity fields (review) and two others.
HISTORY_FIELDS = ("name", "id_number", "phone", "address")
#: A small pool, so that records often share an ID number.
ID_NUMBERS = ("370102195001010011", "370102195001010038", "370102195001010054")
SITES = tuple(f"3701020{n:02d}-01" for n in range(1, 6))
RECORDS = tuple(str(uuid.UUID(int=n)) for n in range(1, 5))
START_MS = 1_767_225_600_000  # 2026-01-01, a fixed base so runs are reproducible

field_values = st.sampled_from(("a", "b", "c", "d"))


@dataclass
class Site:
    """A simulated node: its clock, its replica and the ops it holds, in order."""

    node: str
    wall: list[int]
    clock: HybridClock
    states: dict[str, RecordState] = field(default_factory=dict)
    held: list[Op] = field(default_factory=list)
    held_ids: set[str] = field(default_factory=set)

    def receive(self, op: Op) -> None:
        if op.op_id in self.held_ids:
            return
        self.clock.observe(op.hlc)
        self.states[op.record_id] = apply_op(
            self.states.get(op.record_id), op, DEFAULT_POLICY
        ).state
        self.held.append(op)
        self.held_ids.add(op.op_id)


def _site(node: str) -> Site:
    wall = [START_MS]
    return Site(node=node, wall=wall, clock=HybridClock(node, lambda: wall[0]))


def _heads(state: RecordState, name: str) -> tuple[str, ...]:
    found = state.field_state(name)
    return () if found is None else tuple(head.op_id for head in found.heads)


ACTIONS = ("edit", "edit", "edit", "delete", "merge", "sync", "sync", "sync", "tick")


@st.composite
def histories(draw: st.DrawFn, *, max_steps: int = 40) -> tuple[list[Site], list[Op]]:
    """Simulate 3 to 5 sites; return them and every op they made, in making order."""
    sites = [_site(node) for node in SITES[: draw(st.integers(3, 5))]]
    records = RECORDS[: draw(st.integers(1, len(RECORDS)))]
    made: list[Op] = []
    for _ in range(draw(st.integers(4, max_steps))):
        site = draw(st.sampled_from(sites))
        action = draw(st.sampled_from(ACTIONS))
        if action == "tick":  # the wall clock moves, sometimes backwards
            site.wall[0] += draw(st.integers(-2_000, 5_000))
            continue
        if action == "sync":
            other = draw(st.sampled_from(sites))
            upto = draw(st.integers(0, len(other.held)))
            for held in other.held[:upto]:  # a prefix: what other held up to some point
                site.receive(held)
            continue
        op = _local_op(draw, site, action, records)
        if op is not None:
            site.receive(op)
            made.append(op)
    return sites, made


def _local_op(draw: st.DrawFn, site: Site, action: str, records: tuple[str, ...]) -> Op | None:
    record_id = draw(st.sampled_from(records))
    common: dict[str, Any] = {"record_id": record_id, "author": "collector-1", "site": site.node}
    state = site.states.get(record_id)
    if state is None or (state.status == STATUS_PENDING and draw(st.booleans())):
        # A site creates the records it does not hold; one that has not synced yet
        # may create a record another site created too.
        first = {
            "name": draw(field_values),
            "id_number": draw(st.sampled_from(ID_NUMBERS)),
            "phone": draw(field_values),
        }
        return Op(kind=OpKind.CREATE, value=first, hlc=site.clock.now(), **common)
    common["record_base"] = state.version
    if action == "edit":
        name = draw(st.sampled_from(HISTORY_FIELDS))
        heads = _heads(state, name)
        if len(heads) > 1 and draw(st.booleans()):  # resolve the conflict the site sees
            base, common["reason"] = heads, "checked against the ID card"
        else:
            base = heads[:1]  # an ordinary edit builds on the value the site sees
        value = draw(st.sampled_from(ID_NUMBERS) if name == "id_number" else field_values)
        return Op(
            kind=OpKind.SET, field=name, value=value, base=base, hlc=site.clock.now(), **common
        )
    status_heads = _heads(state, STATUS_FIELD)
    base = status_heads if draw(st.booleans()) else status_heads[:1]
    if action == "delete":
        return Op(kind=OpKind.DELETE, base=base, hlc=site.clock.now(), **common)
    survivor = draw(st.sampled_from(RECORDS))
    if survivor == record_id:
        return None
    return Op(kind=OpKind.MERGE_INTO, value=survivor, base=base, hlc=site.clock.now(), **common)


def canonical(states: Mapping[str, RecordState]) -> str:
    """A text form of a set of states in which equal states look equal.

    JSON keeps ``True``, ``1`` and ``1.0`` apart, which ``==`` on values does not.
    """
    return json.dumps({rid: state.to_row() for rid, state in states.items()}, sort_keys=True)


def deliver(history: Iterable[Op]) -> dict[str, RecordState]:
    """Apply the ops of ``history`` in the given order to an empty replica."""
    states: dict[str, RecordState] = {}
    for each in history:
        states[each.record_id] = apply_op(states.get(each.record_id), each, DEFAULT_POLICY).state
    return states


# --- hand-written histories -----------------------------------------------------

#: Sites, records and ID numbers for hand-written histories.
A, B, C = "370102001-01", "370102002-01", "370103001-01"
R1 = "00000000-0000-4000-8000-000000000001"
R2 = "00000000-0000-4000-8000-000000000002"
R3 = "00000000-0000-4000-8000-000000000003"
ID1 = "370102195001010011"
ID2 = "370102195001010038"


def op_at(kind: OpKind, site: str, ms: int, record: str = R1, **fields: Any) -> Op:
    """An op made at ``site``, ``ms`` milliseconds after the start of the history."""
    hlc = Timestamp(wall_ms=START_MS + ms, counter=0, node=site)
    return Op(kind=kind, record_id=record, hlc=hlc, site=site, author="u-1", **fields)


def create(site: str = A, ms: int = 0, record: str = R1, **values: Any) -> Op:
    """A create with the given first values (a name and a phone if none are given)."""
    return op_at(OpKind.CREATE, site, ms, record, value=values or {"name": "x", "phone": "1"})


def set_(after: Op | tuple[Op, ...], field: str, value: Any, site: str, ms: int, **kw: Any) -> Op:
    """A set based on the op(s) ``after``, by an author whose record version is the last."""
    based = after if isinstance(after, tuple) else (after,)
    kw.setdefault("record_base", based[-1].op_id)
    kw.setdefault("base", tuple(o.op_id for o in based))
    return op_at(OpKind.SET, site, ms, based[0].record_id, field=field, value=value, **kw)
