"""Daily snapshots: taken from a source, stored as JSON, read back, plotted over time."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.reports import (
    Counts,
    QualityKind,
    Snapshot,
    SnapshotFormatError,
    SnapshotRow,
    take_snapshot,
    timeline,
)
from node.reports.snapshots import SNAPSHOT_VERSION
from tests.node.reports.data import HISTORY, TODAY, source


def test_snapshot_of_the_data_set() -> None:
    snapshot = take_snapshot(source(), TODAY)
    assert snapshot.day == TODAY
    assert snapshot.root == "370100"
    # the figures of test_figures.py: 37 expected, 10 collected …; 30 required, 4 missing
    root = snapshot.rows[0]
    assert root.counts == Counts(expected=37, collected=10, authorised=7, merged=6, verified=3)
    assert (root.required, root.missing) == (30, 4)
    assert [r.code for r in snapshot.rows] == [
        "370100",
        "370102",
        "370102001",
        "370102002",
        "370103",
        "370103001",
    ]
    # open today: conflicts q1 q2 (q9 is outside), no duplicate, finding q4, rejection q7
    assert snapshot.open_items == (2, 0, 1, 1)


def test_snapshot_round_trips_through_json() -> None:
    snapshot = take_snapshot(source(), TODAY)
    text = snapshot.to_json()
    assert Snapshot.from_json(text) == snapshot
    assert Snapshot.from_json(text).to_json() == text
    body = json.loads(text)
    assert body["version"] == SNAPSHOT_VERSION
    assert body["rows"][0] == ["370100", 37, 10, 7, 6, 3, 30, 4]
    assert body["open"] == {"conflict": 2, "duplicate": 0, "finding": 1, "rejection": 1}


counts = st.integers(0, 10_000).flatmap(
    lambda verified: st.tuples(
        st.integers(0, 10_000),
        st.just(verified),
        st.integers(verified, 10_000),
    ).flatmap(
        lambda t: st.integers(t[2], 10_000).flatmap(
            lambda authorised: st.integers(authorised, 20_000).map(
                lambda collected: Counts(
                    expected=t[0],
                    collected=collected,
                    authorised=authorised,
                    merged=t[2],
                    verified=t[1],
                )
            )
        )
    )
)
rows = st.builds(
    lambda code, c, required, missing: SnapshotRow(
        code=code, counts=c, required=required + missing, missing=missing
    ),
    st.sampled_from(["370102", "370102001", "370103", "370103001"]),
    counts,
    st.integers(0, 1000),
    st.integers(0, 1000),
)


@given(
    day=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    root=counts,
    others=st.lists(rows, max_size=5),
    open_items=st.tuples(*(st.integers(0, 500) for _ in QualityKind)),
)
def test_any_snapshot_round_trips(
    day: date, root: Counts, others: list[SnapshotRow], open_items: tuple[int, ...]
) -> None:
    snapshot = Snapshot(
        day=day,
        root="370100",
        rows=(SnapshotRow(code="370100", counts=root, required=0, missing=0), *others),
        open_items=open_items,
    )
    assert Snapshot.from_json(snapshot.to_json()) == snapshot


def _broken(**changes: object) -> str:
    body = json.loads(take_snapshot(source(), TODAY).to_json())
    body.update(changes)
    return json.dumps(body)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "snapshot: expected JSON, JSONDecodeError"),
        ("[]", f"snapshot: expected version {SNAPSHOT_VERSION}"),
        (
            _broken(version="muster/report-snapshot/v0"),
            f"snapshot: expected version {SNAPSHOT_VERSION}",
        ),
        (_broken(rows=[["370100", 1, 2]]), "snapshot: expected rows of 8 values"),
        (
            _broken(rows=[["370100", 37, 10, 7, 6, 3, 30, "4"]]),
            "snapshot: expected whole numbers in the rows",
        ),
        (
            _broken(rows=[["370100", 37, 10, 7, 6, 3, 30, True]]),
            "snapshot: expected whole numbers in the rows",
        ),
        (
            _broken(rows=[["370100", 37, 1, 7, 6, 3, 30, 4]]),
            "snapshot: malformed content (progress counts: expected each stage to include",
        ),
        (
            _broken(rows=[["370100", -1, 10, 7, 6, 3, 30, 4]]),
            "snapshot: malformed content (progress counts: expected a whole number >= 0, saw -1)",
        ),
        (
            _broken(rows=[["370102", 37, 10, 7, 6, 3, 30, 4]]),
            "snapshot: malformed content (snapshot: expected the root's row first)",
        ),
        (_broken(open={"conflict": 1}), "snapshot: expected an open count for every queue"),
        (_broken(day="2025-13-01"), "snapshot: malformed content (ValueError)"),
        (_broken(day=20250601), "snapshot: expected day and root as text"),
        (_broken(rows=None), "snapshot: malformed content (TypeError)"),
        ('{"version": "muster/report-snapshot/v1"}', "snapshot: malformed content (KeyError)"),
    ],
)
def test_bad_snapshot_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(SnapshotFormatError, match=re.escape(message)):
        Snapshot.from_json(text)


def test_oversized_snapshot_is_refused_before_parsing() -> None:
    with pytest.raises(SnapshotFormatError, match="snapshot: expected at most 16777216 characters"):
        Snapshot.from_json(" " * (16 * 1024 * 1024 + 1))


def test_timeline_orders_days_and_keeps_the_last_snapshot_of_a_day() -> None:
    later_same_day = take_snapshot(source(), HISTORY[1].day)
    points = timeline((HISTORY[3], HISTORY[1], HISTORY[0], later_same_day), "370100")
    assert [p.day.day for p in points] == [2, 9, 23]
    assert points[1].counts.collected == 10  # the second snapshot of 06-09 wins
    assert timeline(HISTORY, "370102") == ()  # the history has the root's rows only
