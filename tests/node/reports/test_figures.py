"""The figures of the small data set (tests/node/reports/data.py), computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from node.reports import (
    Counts,
    PhaseKind,
    ProgressTable,
    QualityKind,
    build_report,
    compute_completeness,
    compute_progress,
    compute_quality,
    parse_period,
    tally_records,
)
from protocol.schema import Schema
from tests.node.reports.data import (
    CAMPAIGN,
    EXPECTATIONS,
    HISTORY,
    ITEMS,
    RECORDS,
    TODAY,
    TREE,
    source,
)

JUNE = parse_period("2025-06")


@pytest.fixture(scope="module")
def progress() -> ProgressTable:
    return compute_progress(
        TREE, EXPECTATIONS, tally_records(RECORDS), Schema.default(), today=TODAY
    )


def test_people_expected_and_at_each_stage_per_region(progress: ProgressTable) -> None:
    # expected: 370102001 = 10 + 4 (no total given); 370102002 = its total 8;
    # 370103001 = 10 (corrected) + 5; districts and city are sums.
    # stages: see the table in data.py; r11 counts in 370103 itself, r10 nowhere.
    assert {r.code: r.persons for r in progress.regions} == {
        "370100": Counts(expected=37, collected=10, authorised=7, merged=6, verified=3),
        "370102": Counts(expected=22, collected=6, authorised=4, merged=3, verified=1),
        "370102001": Counts(expected=14, collected=4, authorised=3, merged=2, verified=1),
        "370102002": Counts(expected=8, collected=2, authorised=1, merged=1, verified=0),
        "370103": Counts(expected=15, collected=4, authorised=3, merged=3, verified=2),
        "370103001": Counts(expected=15, collected=3, authorised=3, merged=3, verified=2),
    }


def test_progress_ratios(progress: ProgressTable) -> None:
    # 10/37, 6/22, 4/14, 2/8, 4/15, 3/15
    ratios = {r.code: r.persons.progress for r in progress.regions}
    assert ratios == pytest.approx(
        {
            "370100": 0.27027,
            "370102": 0.27273,
            "370102001": 0.28571,
            "370102002": 0.25,
            "370103": 0.26667,
            "370103001": 0.2,
        },
        abs=1e-5,
    )


def test_people_from_outside_the_jurisdiction_are_counted_apart(progress: ProgressTable) -> None:
    assert progress.outside == Counts(expected=0, collected=1)


def test_categories_count_each_category_a_person_holds(progress: ProgressTable) -> None:
    # retired_soldier: r1 r2 r3 r5 r6 r9 r11 = 7 of 10 + 6 + 10 expected;
    # r3 is also a disabled soldier, whom no baseline expected.
    shown = {
        c.key: c.counts for c in progress.root.categories if c.counts.expected or c.counts.collected
    }
    assert shown == {
        "retired_soldier": Counts(expected=26, collected=7, authorised=5, merged=4, verified=1),
        "disabled_soldier": Counts(expected=0, collected=1, authorised=1),
        "martyr_survivor": Counts(expected=4, collected=1),
        "active_duty_family": Counts(expected=5, collected=2, authorised=2, merged=2, verified=2),
    }
    disabled = next(c for c in progress.root.categories if c.key == "disabled_soldier")
    assert disabled.counts.progress is None
    assert disabled.counts.over_baseline


def test_daily_rate_and_projection(progress: ProgressTable) -> None:
    # window 06-24..06-30: r2 r3 r4 r6 r9 r11 = 6 people → 6/7 a day;
    # 27 to go / (6/7) = 31.5 → 32 days after 06-30 = 08-01.
    root = progress.root
    assert root.rate == pytest.approx(6 / 7)
    assert root.projected == date(2025, 8, 1)
    # 370102002: r6 only → 1/7; 6 to go → 42 days → 08-11.
    assert progress.get("370102002").projected == date(2025, 8, 11)


def test_phase_deadlines() -> None:
    report = build_report(source(), JUNE, "", today=TODAY)
    collection, cross_check = report.phases
    # 31 days to 07-31; 27 people over 32 days (today included) = 0.84375 a day;
    # projected 08-01 is after the deadline.
    assert (collection.kind, collection.days_left, collection.remaining) == (
        PhaseKind.COLLECTION,
        31,
        27,
    )
    assert collection.needed_rate == pytest.approx(0.84375)
    assert collection.on_track is False
    # phase 2 counts verified people: 3 of 37; no snapshots, so no rate and no projection.
    assert (cross_check.done, cross_check.days_left, cross_check.rate) == (3, 123, None)
    assert cross_check.on_track is None


def test_completeness_per_region_and_field() -> None:
    completeness = compute_completeness(TREE, tally_records(RECORDS), Schema.default())
    # each record requires 3 fields; missing: r2 phone, r3 phone + photo, r6 phone.
    assert {r.code: (r.required, r.missing) for r in completeness.regions} == {
        "370100": (30, 4),
        "370102": (18, 4),
        "370102001": (12, 3),
        "370102002": (6, 1),
        "370103": (12, 0),
        "370103001": (9, 0),
    }
    assert completeness.root.share == pytest.approx(26 / 30)
    assert {f.field: f.share for f in completeness.fields} == pytest.approx(
        {"name": 1.0, "phone": 0.7, "portrait_photo": 0.9}
    )
    assert [f.field for f in completeness.most_missing(5)] == ["phone", "portrait_photo"]
    assert [f.label_zh for f in completeness.fields] == ["姓名", "联系电话", "本人照片"]
    # heat: 历下区 phone 3 of 6 missing, photo 1 of 6; 市中区 complete.
    assert [(h.name, h.cells) for h in completeness.heat] == [
        ("历下区", pytest.approx((1.0, 0.5, 5 / 6))),
        ("市中区", (1.0, 1.0, 1.0)),
    ]


def test_quality_queues_and_ages() -> None:
    quality = compute_quality(ITEMS, TREE, JUNE)
    conflict = quality.queue(QualityKind.CONFLICT)
    # open conflicts aged 1 (q1) and 20 (q2) days; q9 is outside the city.
    assert (conflict.open, conflict.buckets, conflict.oldest_days, conflict.median_days) == (
        2,
        (1, 0, 0, 1, 0),
        20,
        10.5,
    )
    assert conflict.opened_in_period == 2
    duplicate = quality.queue(QualityKind.DUPLICATE)
    assert (duplicate.open, duplicate.opened_in_period, duplicate.closed_in_period) == (0, 1, 1)
    assert duplicate.oldest_days is None
    finding = quality.queue(QualityKind.FINDING)
    # q4 opened 05-20 (before June) is 41 days old; q5 and q6 opened and closed in June.
    assert (finding.open, finding.oldest_days, finding.opened_in_period) == (1, 41, 2)
    assert finding.closed_in_period == 2
    assert quality.queue(QualityKind.REJECTION).buckets == (0, 1, 0, 0, 0)
    assert [(f.finding, f.open, f.resolved, f.dismissed) for f in quality.findings] == [
        ("deceased", 1, 0, 0),
        ("value_mismatch", 0, 1, 1),
    ]
    assert [(r.name, r.open) for r in quality.regions] == [
        ("历下区", (1, 0, 1, 1)),
        ("市中区", (1, 0, 0, 0)),
    ]
    assert (quality.outside, quality.open_total) == (1, 4)


def test_a_past_period_sees_items_as_they_were_then() -> None:
    # As of 06-04: q3 (closed 06-05) was still open, 3 days old; q6 closed that day;
    # q1, q2, q5's closing, q7 and q9 had not happened yet.
    quality = compute_quality(ITEMS, TREE, parse_period("2025-06-01..2025-06-04"))
    assert quality.queue(QualityKind.DUPLICATE).open == 1
    assert quality.queue(QualityKind.DUPLICATE).oldest_days == 3
    assert quality.queue(QualityKind.CONFLICT).open == 0
    assert [(f.finding, f.open, f.dismissed) for f in quality.findings] == [
        ("deceased", 1, 0),
        ("value_mismatch", 1, 1),
    ]


def test_report_counts_people_collected_in_the_period() -> None:
    report = build_report(source(), parse_period("2025-06-24..2025-06-30"), "", today=TODAY)
    # r2 r3 r4 r6 r9 r11 (r10 is outside the city)
    assert report.new_in_period == 6
    assert report.site_code == "370100"
    assert report.site_name == "济南市"
    assert report.collection_deadline == CAMPAIGN.phases[0].deadline


def test_phase_two_rate_comes_from_the_snapshots() -> None:
    report = build_report(source(history=HISTORY), JUNE, "", today=TODAY)
    cross_check = report.phases[1]
    # verified 1 in the 06-23 snapshot, 3 today: 2 people in 7 days;
    # 34 to go at 2/7 a day = 119 days after 06-30 = 10-27, before the 10-31 deadline.
    assert cross_check.rate == pytest.approx(2 / 7)
    assert cross_check.projected == date(2025, 10, 27)
    assert cross_check.on_track is True
    # the timeline: the four snapshots, then today's live figures
    assert [(p.day.day, p.counts.collected) for p in report.timeline] == [
        (2, 1),
        (9, 2),
        (16, 3),
        (23, 4),
        (30, 10),
    ]
