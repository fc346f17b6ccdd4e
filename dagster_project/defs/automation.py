"""Jobs, schedules and the landing sensor.

- `full_refresh`: every asset, training included. The first run on a new warehouse, and `make run`.
  The job carries the tag `ahw/full_refresh=true`, so every launch reloads and rebuilds everything;
  launched over every partition (`partitions.full_refresh_tags()`: first to newest, one run, as
  `make run` does), it also records every day of `raw/events`, so the UI shows them all filled.
- `daily_refresh`: ingest -> checks -> dbt -> score with the champion model -> publish. No training.
  The schedule runs the newest daily partition: raw events and the incremental dbt models refresh
  only the days from that partition minus the look-back window; the other assets rebuild in full.
- `weekly_retrain`: retrain the models (champion/challenger) and rescore everything downstream.

Backfill a date range as one run from the UI (Materialize, pick the range) or the CLI:
`dagster job launch -w workspace.yaml -j daily_refresh --tags
'{"dagster/asset_partition_range_start": "2026-11-01", "dagster/asset_partition_range_end": "2026-11-05"}'`
(with the daemon running: `make dev`).
"""

import hashlib

import dagster as dg

from dagster_project.core.settings import get_settings
from dagster_project.defs.partitions import FULL_REFRESH_TAG, daily_partitions, newest_partition_key
from dagster_project.ingest.landing import FILE_PATTERNS

MODELS = dg.AssetSelection.groups("models")

full_refresh_job = dg.define_asset_job(
    name="full_refresh",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    tags={FULL_REFRESH_TAG: "true"},
    description="Everything, training included: ingest, checks, dbt, train and promote models, score, publish. "
    "Every launch reloads and rebuilds everything (the job's tag ahw/full_refresh=true). Launch it over every "
    "partition (first to last, one run; make run does) so the UI records every day of raw/events as filled.",
)

daily_refresh_job = dg.define_asset_job(
    name="daily_refresh",
    selection=dg.AssetSelection.all() - MODELS,
    partitions_def=daily_partitions,
    description="Ingest new landing files, run the checks, build and test the dbt models, score every account "
    "with the champion model, publish the marts. Training happens in weekly_retrain. With a partition (range), "
    "events and the incremental dbt models refresh only the days from its first day minus the look-back window.",
)

weekly_retrain_job = dg.define_asset_job(
    name="weekly_retrain",
    selection=MODELS.downstream(),
    description="Retrain the models on the newest labels; a challenger replaces the champion only if its "
    "backtest is not worse. Then rescore and republish.",
)


@dg.schedule(
    job=daily_refresh_job,
    name="daily_refresh_schedule",
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every morning at 05:00 UTC, for the day that just ended (the newest partition), so health "
    "scores are ready before the CS team starts. The day comes from the project's clock: the tick's time, "
    "or AHW_NOW when it is pinned.",
)
def daily_refresh_schedule(context: dg.ScheduleEvaluationContext):
    partition_key = newest_partition_key(context.scheduled_execution_time)
    if partition_key is None:
        return dg.SkipReason(f"no daily partition yet (they start on {get_settings().partitions_start_date})")
    return dg.RunRequest(run_key=partition_key, partition_key=partition_key)


weekly_retrain_schedule = dg.ScheduleDefinition(
    name="weekly_retrain_schedule",
    job=weekly_retrain_job,
    cron_schedule="0 3 * * 0",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sundays at 03:00 UTC, before the daily refresh, on the week's newest labels.",
)


@dg.sensor(
    job=daily_refresh_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs daily_refresh for the newest partition when files land (or change) in the landing folder. "
    "Off by default, because the daily schedule already refreshes every morning: turn it on to refresh as soon "
    "as an export arrives instead. A file is ingested once: the run key is its name, size and modification time.",
)
def landing_files_sensor(context: dg.SensorEvaluationContext):
    landing_dir = get_settings().landing_dir
    files = sorted(p for pattern in FILE_PATTERNS for p in landing_dir.rglob(pattern))
    newest_seen = float(context.cursor) if context.cursor else 0.0
    stats = [(p, p.stat()) for p in files]
    new = [(p, st) for p, st in stats if st.st_mtime > newest_seen]
    if not new:
        return dg.SkipReason(f"no new or changed files in {landing_dir}")
    partition_key = newest_partition_key()
    if partition_key is None:
        return dg.SkipReason(f"no daily partition yet (they start on {get_settings().partitions_start_date})")
    signature = "\n".join(f"{p.relative_to(landing_dir)}:{st.st_size}:{st.st_mtime_ns}" for p, st in new)
    context.update_cursor(str(max(st.st_mtime for _, st in new)))
    return dg.RunRequest(
        run_key=hashlib.sha256(signature.encode()).hexdigest(),
        partition_key=partition_key,
        tags={"landing_files": str(len(new))},
    )
