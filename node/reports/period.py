"""The period a report covers: a month, a day, or a range of days (``--period``)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from node.reports.errors import PeriodError

__all__ = ["Period", "parse_period"]

_MONTH: Final = re.compile(r"([0-9]{4})-([0-9]{2})")
_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: Periods are typed by administrators, never data: the text may be quoted in
#: messages, cut to this length.
_MAX_TEXT: Final = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """A run of days, both ends inclusive.

    Raises:
        PeriodError: on construction, if ``end`` is before ``start``.
    """

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError(
                f"period: expected the end on or after the start, saw {self.start} .. {self.end}"
            )

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def days(self) -> int:
        """The number of days in the period."""
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}..{self.end}"

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """The whole calendar month."""
        last = calendar.monthrange(year, month)[1]
        return cls(start=date(year, month, 1), end=date(year, month, last))

    def previous_days(self, count: int) -> Period:
        """The ``count`` days that end on this period's last day."""
        return Period(start=self.end - timedelta(days=count - 1), end=self.end)


def _day(text: str) -> date:
    if _DAY.fullmatch(text) is None:
        raise PeriodError(f"period: expected a day as YYYY-MM-DD, saw {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"period: {text} is not a calendar day") from None


def parse_period(text: str) -> Period:
    """Parse a month (``2025-06``), a day (``2025-06-30``) or a range (``START..END``).

    Raises:
        PeriodError: the text is none of these, names a day that does not
            exist, or ends before it starts.
    """
    text = text.strip()
    if len(text) > _MAX_TEXT:
        raise PeriodError(f"period: expected at most {_MAX_TEXT} characters, saw {len(text)}")
    if ".." in text:
        first, _, last = text.partition("..")
        return Period(start=_day(first.strip()), end=_day(last.strip()))
    month = _MONTH.fullmatch(text)
    if month is not None:
        year, number = int(month.group(1)), int(month.group(2))
        if not 1 <= number <= 12 or year < 1:
            raise PeriodError(f"period: {text} is not a calendar month")
        return Period.month(year, number)
    day = _day(text)
    return Period(start=day, end=day)
