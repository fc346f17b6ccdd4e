"""Calendar helpers: billing anniversaries, holidays and the weekly rhythm of usage."""

from __future__ import annotations

import datetime as dt

import numpy as np

from dagster_project.simulate.config import Window

REGIONS = ("NA", "EMEA", "APAC", "LATAM")
# Hours to add to a local business time to get UTC (rough centre of each region's time zones).
REGION_UTC_OFFSET_HOURS = np.array([6.0, -1.0, -8.0, 4.0])

# Usage on a normal weekday vs Saturday / Sunday (B2B products are quiet at weekends).
WEEKDAY_FACTOR = np.array([1.0, 1.0, 1.0, 0.97, 0.85, 0.14, 0.10])
HOLIDAY_FACTOR = 0.15


def add_months(day: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Vectorized `day + months` on numpy datetime64[D], keeping the day of month (clipped).

    A subscription started on Jan 31 renews on Feb 28/29, Mar 31, ... like most billing systems.
    """
    day = np.asarray(day, dtype="datetime64[D]")
    month0 = day.astype("datetime64[M]")
    dom = (day - month0.astype("datetime64[D]")).astype(np.int64)
    target = month0 + np.asarray(months, dtype=np.int64)
    month_len = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]") + np.minimum(dom, month_len - 1)


def months_between(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Whole calendar months from `start` to `end` (floor), so add_months(start, k) <= end."""
    start = np.asarray(start, dtype="datetime64[D]")
    end = np.asarray(end, dtype="datetime64[D]")
    k = (end.astype("datetime64[M]") - start.astype("datetime64[M]")).astype(np.int64)
    k = np.where(add_months(start, k) > end, k - 1, k)
    return k


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _holidays(year: int) -> dict[str, list[dt.date]]:
    """A few public holidays per region (enough to make the daily series look real)."""
    common = [dt.date(year, 1, 1), dt.date(year, 12, 24), dt.date(year, 12, 25), dt.date(year, 12, 31)]
    return {
        "NA": common
        + [
            dt.date(year, 7, 4),
            _nth_weekday(year, 9, 0, 1),
            _nth_weekday(year, 11, 3, 4),
            _nth_weekday(year, 11, 3, 4) + dt.timedelta(days=1),
        ],
        "EMEA": common + [dt.date(year, 5, 1), dt.date(year, 12, 26)],
        "APAC": common + [dt.date(year, 5, 1)],
        "LATAM": common + [dt.date(year, 5, 1), dt.date(year, 11, 2)],
    }


def day_factors(window: Window) -> np.ndarray:
    """Relative usage level per region and simulation day, shape (4, n_days).

    Weekdays are 1.0, weekends low, holidays low in the regions that observe them.
    """
    days = np.arange(window.n_days)
    factors = np.tile(WEEKDAY_FACTOR[days % 7], (len(REGIONS), 1))
    for year in range(window.start_date.year, window.end_date.year + 1):
        for r, region in enumerate(REGIONS):
            for holiday in _holidays(year)[region]:
                d = (holiday - window.start_date).days
                if 0 <= d < window.n_days:
                    factors[r, d] = min(factors[r, d], HOLIDAY_FACTOR)
    return factors
