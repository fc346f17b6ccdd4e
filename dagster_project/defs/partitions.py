"""Daily partitions of the append-only data (events and the incremental dbt models).

A run with a partition key (or a range, as one run) refreshes the days from the first day of the
partition range minus the look-back window: raw events are reloaded from the landing files and the
incremental dbt models rebuild those days. A run tagged `ahw/full_refresh` (or a range that starts
on the first partition) is a full refresh: everything reloaded and rebuilt, whatever the partition.
`make run` and the tests run `full_refresh` that way, on the newest partition (`full_refresh_tags`):
one partition per asset to record, not one per day of history.

"Newest" is the project's clock (`core.clock`), not Dagster's: with `AHW_NOW` pinned, the newest
partition is the day before the pinned time, whatever day the machine thinks it is.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from dagster_project.core import clock
from dagster_project.core.settings import get_settings

FULL_REFRESH_TAG = "ahw/full_refresh"

# Partition definitions are static (Dagster compares them between code versions), so the start
# date is read once, when the definitions load.
daily_partitions = dg.DailyPartitionsDefinition(start_date=get_settings().partitions_start_date, timezone="UTC")

# A backfill of any date range is one run: one reload and one incremental dbt build, not one per day.
single_run = dg.BackfillPolicy.single_run()


def newest_partition_key(at: dt.datetime | None = None) -> str | None:
    """The newest complete daily partition at the project's "now" (`AHW_NOW`, else `at`, else the
    wall clock); None before the first partition has ended."""
    # Dagster's "last partition" follows the time of the loading context; setting it from the
    # project's clock makes this read go through AHW_NOW instead of the machine's clock.
    with dg.partition_loading_context(effective_dt=clock.now_utc(at)):
        return daily_partitions.get_last_partition_key()


def full_refresh_tags() -> dict[str, str]:
    """Run tags of a full refresh (make run, the tests, the benchmark): the newest partition, tagged."""
    return {"dagster/partition": newest_partition_key(), FULL_REFRESH_TAG: "true"}


def refresh_start_date(context: dg.AssetExecutionContext) -> dt.date | None:
    """First day of the run's partition range, or None for a full refresh (a run tagged
    FULL_REFRESH_TAG, a range from the first partition, or a run without a partition)."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    if context.run.tags.get(FULL_REFRESH_TAG) == "true":
        return None
    if context.partition_key_range.start == daily_partitions.get_first_partition_key():
        return None
    return context.partition_time_window.start.date()


def refresh_from_date(context: dg.AssetExecutionContext, lookback_days: int) -> dt.date | None:
    """The first day a run rebuilds: its partition range's first day minus the look-back window."""
    start = refresh_start_date(context)
    return None if start is None else start - dt.timedelta(days=lookback_days)
