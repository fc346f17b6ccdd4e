"""The benchmark's arithmetic and report: stages add up, ratios and targets follow SPEC section 9."""

from __future__ import annotations

import json

from dagster_project.cli.bench import BenchResult, Stage, compare, render


def _result() -> BenchResult:
    gib = 1024**3
    result = BenchResult(scale="large", config={"accounts": 10_000}, commit="abc1234", started_at="2026-11-23T00:00:00")
    result.stages = [
        Stage("generate", 80.0),
        Stage("ingest", 70.0, peak_memory_bytes=4 * gib),
        Stage("dbt_full_build", 190.0, peak_memory_bytes=5 * gib),
        Stage("train", 130.0),
        Stage("score", 60.0),
        Stage("publish", 5.0),
        Stage("incremental_refresh", 26.0),
        Stage("daily_score_publish", 7.0),
    ]
    result.peak_memory_bytes = 7 * gib
    result.feature_build_seconds, result.floor_seconds = 30.0, 6.0
    result.step_seconds = {"ingest": {"raw__events": 40.0, "raw_accounts_quality": 0.5}}
    result.dbt_node_seconds = {"dbt_full_build": {"model stg_product__events": 79.0}}
    return result


def test_pipeline_ratios_and_daily_job_add_up_the_right_stages():
    result = _result()
    assert result.pipeline_seconds == 70 + 190 + 130 + 60 + 5  # generating the data is not the pipeline
    assert result.full_build_seconds == 260.0
    assert result.incremental_ratio == 26.0 / 260.0
    assert result.daily_job_seconds == 33.0
    assert result.floor_ratio == 5.0


def test_targets_say_met_or_by_how_much_they_are_missed():
    targets = _result().targets()
    assert targets["whole_pipeline_seconds"]["met"] is True  # 455 s <= 900 s
    assert targets["incremental_vs_full"]["met"] is False
    assert targets["incremental_vs_full"]["over_by"] == (26.0 / 260.0) / 0.05 - 1  # 10 % is twice the target
    assert targets["peak_memory_bytes"]["met"] is False  # 7 GiB > 6 GiB
    assert targets["feature_build_vs_floor"]["met"] is True  # exactly 5x


def test_report_and_json_carry_stages_steps_and_slowest_nodes():
    result = _result()
    text = render(result)
    assert "dbt_full_build" in text and "peak  5.00 GiB" in text
    assert "ingest steps: raw__events 40.0 s" in text and "raw_accounts_quality" not in text  # under 1 s
    assert "model stg_product__events 79.0 s" in text
    assert "incremental_vs_full" in text and "missed by" in text
    data = json.loads(json.dumps(result.to_json()))
    assert data["daily_job_seconds"] == 33.0 and data["stages"][2]["peak_memory_bytes"] == 5 * 1024**3


def test_results_read_back_from_json_compare_side_by_side():
    duckdb_run = BenchResult.from_json(json.loads(json.dumps(_result().to_json())))
    assert duckdb_run.pipeline_seconds == 455.0 and duckdb_run.stages[1].peak_memory_bytes == 4 * 1024**3
    spark_run = _result()
    spark_run.engine = "spark"
    spark_run.stages[2] = Stage("dbt_full_build", 570.0, peak_memory_bytes=6 * 1024**3)
    spark_run.stages = spark_run.stages[:-1]  # its daily job did not finish
    table = compare([duckdb_run, spark_run]).splitlines()
    assert table[0] == "| stage | duckdb (large, abc1234) | spark (large, abc1234) |"
    assert "| dbt_full_build | 190.0 s, 5.00 GiB | 570.0 s, 6.00 GiB |" in table
    assert "| daily_score_publish | 7.0 s, 0.00 GiB | not run |" in table
    assert "| whole pipeline vs duckdb | 1.0x | 1.8x |" in table  # 835 s / 455 s
