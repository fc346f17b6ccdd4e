"""The project's one clock.

Every reader of "now" goes through this module: the newest daily partition and the full-refresh
tags, the schedules, the freshness and future-timestamp checks, the simulator's default end date,
the benchmark's last day, model `trained_at` / `promoted_at`, `evaluated_at` of the performance
mart and `published_at`. `AHW_NOW` (an ISO timestamp, UTC unless it names an offset) pins it, so a
run, a backfill or a test gives the same result whatever day it happens on.

`wall_clock()` is the one exception, for the few places that must record when something really
happened whatever the pinned time (the erasure audit log, file modification times the benchmark
compares with). A unit test keeps every other module away from `datetime.now`, `date.today` and
`time.time`.
"""

from __future__ import annotations

import datetime as dt
import os
import time

NOW_ENV = "AHW_NOW"


def pinned() -> dt.datetime | None:
    """The time `AHW_NOW` pins, as an aware UTC datetime, or None when it is unset."""
    value = os.environ.get(NOW_ENV)
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(
            f"{NOW_ENV}={value!r} is not an ISO timestamp such as 2026-11-01T05:00:00 "
            "(UTC unless it names an offset). Fix or unset it (see .env.example)."
        ) from exc
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def now_utc(default: dt.datetime | None = None) -> dt.datetime:
    """The project's "now" as an aware UTC datetime: `AHW_NOW` when set, else `default` (a schedule
    tick's time, say), else the wall clock."""
    value = pinned()
    if value is not None:
        return value
    if default is not None:
        return default.replace(tzinfo=dt.UTC) if default.tzinfo is None else default.astimezone(dt.UTC)
    return wall_clock()


def now(default: dt.datetime | None = None) -> dt.datetime:
    """The project's "now" as a naive UTC datetime: the warehouse stores timestamps as naive UTC."""
    return now_utc(default).replace(tzinfo=None)


def today() -> dt.date:
    """The project's current UTC date."""
    return now_utc().date()


def yesterday() -> dt.date:
    """The newest complete UTC day: the last day a morning run can have data for."""
    return today() - dt.timedelta(days=1)


def wall_clock() -> dt.datetime:
    """The real time, never pinned. Only for records that must say when something really happened
    (audit logs) and for comparisons with the file system's clock; everything else uses `now()`."""
    return dt.datetime.fromtimestamp(time.time(), dt.UTC)
