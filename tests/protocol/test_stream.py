"""Stream order rules, and a property: any arrival order ends with every bundle accepted once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol.stream import StreamPosition, Verdict, classify

HASHES = [f"{i:064x}" for i in range(1, 40)]


def _decide(position, held, seq, prev, bundle_hash):
    return classify(position, seq=seq, prev=prev, bundle_hash=bundle_hash, held=held.get)


def test_next_in_order_with_matching_prev_is_accepted() -> None:
    position = StreamPosition(2, HASHES[1])
    assert _decide(position, {}, 3, HASHES[1], HASHES[2]).verdict is Verdict.ACCEPT


def test_the_first_bundle_has_no_prev() -> None:
    assert _decide(StreamPosition(), {}, 1, None, HASHES[0]).verdict is Verdict.ACCEPT


def test_a_resend_of_a_held_bundle_is_a_duplicate() -> None:
    held = {1: HASHES[0], 2: HASHES[1]}
    decision = _decide(StreamPosition(2, HASHES[1]), held, 2, HASHES[0], HASHES[1])
    assert decision.verdict is Verdict.DUPLICATE


def test_a_different_bundle_reusing_a_seq_is_a_conflict() -> None:
    held = {1: HASHES[0], 2: HASHES[1]}
    decision = _decide(StreamPosition(2, HASHES[1]), held, 2, HASHES[0], HASHES[9])
    assert decision.verdict is Verdict.CONFLICT
    assert decision.reason == "seq 2 is already used by another bundle (expected 3)"


def test_a_broken_prev_link_is_a_conflict() -> None:
    decision = _decide(StreamPosition(2, HASHES[1]), {}, 3, HASHES[7], HASHES[2])
    assert decision.verdict is Verdict.CONFLICT
    assert "prev does not match" in decision.reason


def test_a_bundle_after_a_gap_is_parked() -> None:
    decision = _decide(StreamPosition(2, HASHES[1]), {}, 5, HASHES[3], HASHES[4])
    assert decision.verdict is Verdict.PARK
    assert decision.reason == "seq 5 arrived before 3: parked until the gap fills"


@given(st.permutations(range(1, 9)), st.lists(st.integers(1, 8), max_size=6))
def test_any_arrival_order_with_resends_accepts_each_bundle_exactly_once(order, resends) -> None:
    chain = {seq: HASHES[seq - 1] for seq in range(1, 9)}
    prev_of = {seq: (chain[seq - 1] if seq > 1 else None) for seq in chain}
    position, held, parked, accepted = StreamPosition(), {}, set(), []
    for seq in [*order, *resends]:
        decision = _decide(position, held, seq, prev_of[seq], chain[seq])
        assert decision.verdict is not Verdict.CONFLICT
        if decision.verdict is Verdict.PARK:
            held[seq] = chain[seq]
            parked.add(seq)
        elif decision.verdict is Verdict.ACCEPT:
            held[seq] = chain[seq]
            accepted.append(seq)
            position = StreamPosition(seq, chain[seq])
            # Drain parked successors the way the hub does.
            while position.last_seq + 1 in parked:
                nxt = position.last_seq + 1
                parked.discard(nxt)
                assert prev_of[nxt] == position.last_hash
                accepted.append(nxt)
                position = StreamPosition(nxt, chain[nxt])
    assert accepted == list(range(1, 9))
