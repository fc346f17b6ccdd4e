"""What a run's tags mean for the refresh: a full refresh covers every partition, a partition (range)
refreshes from its first day, and a full refresh over fewer days says which days it leaves unrecorded."""

from __future__ import annotations

import datetime as dt

import pytest

from dagster_project.defs.partitions import (
    FULL_REFRESH_TAG,
    full_refresh_tags,
    is_full_refresh,
    refresh_from_date,
    refresh_start_date,
    unrecorded_partitions,
)


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    monkeypatch.setenv("AHW_NOW", "2026-11-23T05:00:00")


def test_a_full_refresh_is_one_run_over_every_partition_and_records_them_all():
    tags = full_refresh_tags()
    assert tags["dagster/asset_partition_range_start"] == "2024-01-01"
    assert tags["dagster/asset_partition_range_end"] == "2026-11-22"
    assert is_full_refresh(tags) and refresh_start_date(tags) is None
    assert unrecorded_partitions(tags) is None


def test_a_partition_or_a_range_refreshes_from_its_first_day_minus_the_look_back():
    day = {"dagster/partition": "2026-11-20"}
    assert refresh_start_date(day) == dt.date(2026, 11, 20)
    assert refresh_from_date(day, lookback_days=3) == dt.date(2026, 11, 17)
    span = {"dagster/asset_partition_range_start": "2026-11-01", "dagster/asset_partition_range_end": "2026-11-05"}
    assert refresh_start_date(span) == dt.date(2026, 11, 1)
    assert not is_full_refresh(span) and unrecorded_partitions(span) is None


def test_a_range_from_the_first_partition_or_no_partition_is_a_full_refresh():
    from_first = {
        "dagster/asset_partition_range_start": "2024-01-01",
        "dagster/asset_partition_range_end": "2025-01-01",
    }
    assert refresh_start_date(from_first) is None
    assert refresh_start_date({}) is None


def test_a_full_refresh_launched_on_one_day_rebuilds_everything_and_says_what_it_records():
    # what the UI's launchpad sends for the full_refresh job (the job adds its own tag)
    tags = {"dagster/partition": "2026-11-22", FULL_REFRESH_TAG: "true"}
    assert refresh_start_date(tags) is None
    message = unrecorded_partitions(tags)
    assert "partitions 2026-11-22 .. 2026-11-22 only" in message
    assert "2024-01-01 .. 2026-11-22" in message


def test_the_full_refresh_job_carries_its_tag_so_every_launch_is_full():
    from dagster_project.defs.automation import full_refresh_job

    assert full_refresh_job.tags[FULL_REFRESH_TAG] == "true"


def test_a_full_refresh_before_the_first_partition_ends_names_the_settings(monkeypatch):
    monkeypatch.setenv("AHW_NOW", "2024-01-01T05:00:00")
    with pytest.raises(ValueError, match="AHW_PARTITIONS_START_DATE"):
        full_refresh_tags()
