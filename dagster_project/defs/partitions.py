"""Daily partitions of the append-only data: `raw/events`, the one table that lands day by day.

Only `raw/events` is partitioned. A run's partition (or range, as one run) says from which day the
refresh starts: raw events are reloaded from its first day minus the look-back window, and the
incremental dbt models (unpartitioned assets that read the run's range from its tags) rebuild
those days; every other asset rebuilds in full.

A full refresh reloads and rebuilds everything. It is one run over every partition, first to last
(`full_refresh_tags`), so the UI shows every day filled and never invites a backfill. The
`full_refresh` job carries the `ahw/full_refresh` tag itself, so a launch from the UI over fewer
days still rebuilds everything (and says that only those days are recorded).

"Newest" is the project's clock (`core.clock`), not Dagster's: with `AHW_NOW` pinned, the newest
partition is the day before the pinned time, whatever day the machine thinks it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import dagster as dg

from dagster_project.core import clock
from dagster_project.core.settings import get_settings

FULL_REFRESH_TAG = "ahw/full_refresh"
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

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
    """Run tags of a full refresh (make run, the tests, the benchmark): every partition, first to
    newest, as one run, tagged."""
    newest = newest_partition_key()
    if newest is None:
        raise ValueError(
            f"No complete daily partition yet: they start on {get_settings().partitions_start_date} "
            "(AHW_PARTITIONS_START_DATE) and the project's clock (AHW_NOW) is before its end."
        )
    return {
        RANGE_START_TAG: daily_partitions.get_first_partition_key(),
        RANGE_END_TAG: newest,
        FULL_REFRESH_TAG: "true",
    }


def run_partition_range(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The (first, last) partition keys a run's tags name: a single partition or a range; None without."""
    if tags.get(RANGE_START_TAG) and tags.get(RANGE_END_TAG):
        return tags[RANGE_START_TAG], tags[RANGE_END_TAG]
    if tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG], tags[PARTITION_TAG]
    return None


def is_full_refresh(tags: Mapping[str, str]) -> bool:
    """A run tagged FULL_REFRESH_TAG, a range from the first partition, or a run without a partition."""
    keys = run_partition_range(tags)
    return tags.get(FULL_REFRESH_TAG) == "true" or keys is None or keys[0] == daily_partitions.get_first_partition_key()


def refresh_start_date(tags: Mapping[str, str]) -> dt.date | None:
    """First day of the run's partition range, or None for a full refresh (`is_full_refresh`)."""
    if is_full_refresh(tags):
        return None
    return dt.date.fromisoformat(run_partition_range(tags)[0])


def refresh_from_date(tags: Mapping[str, str], lookback_days: int) -> dt.date | None:
    """The first day a run rebuilds: its partition range's first day minus the look-back window."""
    start = refresh_start_date(tags)
    return None if start is None else start - dt.timedelta(days=lookback_days)


def unrecorded_partitions(tags: Mapping[str, str]) -> str | None:
    """For a full refresh that does not cover every partition up to the newest: which days it leaves
    unrecorded (they were rebuilt all the same) and how to launch it so they show filled; else None."""
    if not is_full_refresh(tags):
        return None
    first, newest = daily_partitions.get_first_partition_key(), newest_partition_key()
    keys = run_partition_range(tags)
    if keys is not None and keys[0] == first and keys[1] >= (newest or keys[1]):
        return None
    recorded = "no partition" if keys is None else f"partitions {keys[0]} .. {keys[1]} only"
    return (
        f"This full refresh reloaded and rebuilt every day, but records {recorded}. Launch full_refresh over "
        f"every partition ({first} .. {newest}, one run; `make run` does) so the UI shows every day filled."
    )
