"""Report periods: a month, a day or a range; anything else is a PeriodError."""

from __future__ import annotations

import re
from datetime import date

import pytest

from node.reports import Period, PeriodError, build_report, parse_period
from tests.node.reports.data import TODAY, source


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2025-06", date(2025, 6, 1), date(2025, 6, 30)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2025-06-15", date(2025, 6, 15), date(2025, 6, 15)),
        (" 2025-06-01..2025-07-15 ", date(2025, 6, 1), date(2025, 7, 15)),
    ],
)
def test_accepted_forms(text: str, start: date, end: date) -> None:
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)
    assert parse_period(str(period)) == period


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-13", "period: 2025-13 is not a calendar month"),
        ("2025-02-30", "period: 2025-02-30 is not a calendar day"),
        ("June", "period: expected a day as YYYY-MM-DD, saw 'June'"),
        ("2025/06/01", "period: expected a day as YYYY-MM-DD, saw '2025/06/01'"),
        ("2025-06-30..2025-06-01", "period: expected the end on or after the start"),
        ("2025-06-01..", "period: expected a day as YYYY-MM-DD, saw ''"),
        ("x" * 40, "period: expected at most 32 characters, saw 40"),
    ],
)
def test_refused_forms(text: str, message: str) -> None:
    with pytest.raises(PeriodError, match=re.escape(message)):
        parse_period(text)


def test_period_days_and_membership() -> None:
    june = Period.month(2025, 6)
    assert june.days == 30
    assert date(2025, 6, 30) in june
    assert date(2025, 7, 1) not in june
    assert june.previous_days(7) == parse_period("2025-06-24..2025-06-30")


def test_a_period_that_starts_after_today_is_refused() -> None:
    with pytest.raises(PeriodError, match="period: expected a start on or before 2025-06-30"):
        build_report(source(), parse_period("2025-07"), "", today=TODAY)


def test_a_period_running_past_today_counts_up_to_today() -> None:
    report = build_report(source(), parse_period("2025-06-15..2025-07-15"), "", today=TODAY)
    # collected 06-15..06-30 inside the city: r2 r3 r4 r6 r9 r11
    assert report.new_in_period == 6
    assert report.timeline[-1].day == TODAY
