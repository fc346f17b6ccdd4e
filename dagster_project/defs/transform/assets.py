"""dbt models as Dagster assets: one group per dbt layer folder, dbt tests as asset checks.

Every model is built by one dbt invocation per run (`dbt build`: models and their tests in
dependency order). The incremental models (dbt tag `incremental`: the events and everything derived
per account-day) rebuild only the days from the run's partition range (the partition of `raw/events`
the run refreshes, read from the run's tags) minus the look-back window; the other models are small
next to the events and are rebuilt in full by every run. The dbt assets themselves are not
partitioned: a model is one table, up to date as a whole after each run.
"""

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.asset_utils import DAGSTER_DBT_UNIQUE_ID_METADATA_KEY as DBT_UNIQUE_ID
from dagster_shared.record import replace

from dagster_project.core.settings import Settings, get_settings
from dagster_project.core.spark_tables import mirror_spark_tables
from dagster_project.core.warehouse import connect
from dagster_project.defs.partitions import refresh_start_date
from dagster_project.defs.transform.project import dbt_project

# dbt reads the first day to rebuild from this variable when it executes (not when it parses), so
# a new date each day does not invalidate dbt's partial parse (macros/incremental.sql).
REFRESH_START_ENV = "AHW_REFRESH_START_DATE"


class LayerTranslator(DagsterDbtTranslator):
    """Folder = group: `models/staging/...` is the `staging` group, and so on. Descriptions are the
    models' own (without dbt-dagster's raw SQL tail: the code reference links to the file), and a
    dbt test without a description gets one saying what it guards."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_code_references=True))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2:
            return fqn[1]
        return super().get_group_name(dbt_resource_props)

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return (dbt_resource_props.get("description") or "").strip() or f"dbt model {dbt_resource_props['name']}."

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return replace(spec, description=dbt_test_description(manifest["nodes"][unique_id]))


def dbt_test_description(test: Mapping[str, Any]) -> str:
    """What a dbt test guards, in words, from its generic test name and arguments (or its own description)."""
    if (test.get("description") or "").strip():
        return test["description"].strip()
    meta = test.get("test_metadata") or {}
    kwargs = meta.get("kwargs") or {}
    column = kwargs.get("column_name")
    on = f"`{column}`" if column else "the model"
    blocking = " Blocking." if (test.get("config", {}).get("severity") or "error").lower() == "error" else " Warns."
    name = meta.get("name")
    if name == "not_null":
        text = f"{on} is never null."
    elif name == "unique":
        text = f"{on} is unique."
    elif name == "accepted_values":
        text = f"{on} takes only the values {', '.join(str(v) for v in kwargs.get('values', []))}."
    elif name == "relationships":
        parent = str(kwargs.get("to", "")).replace("ref(", "").replace(")", "").strip("'\"")
        text = f"every {on} exists in {parent}.{kwargs.get('field')}."
    elif name:
        arguments = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k not in {"model", "column_name"})
        text = f"{name.replace('_', ' ')} on {on}" + (f" ({arguments})." if arguments else ".")
    else:
        text = f"Singular test {test.get('name')}: the rows it selects must not exist."
    return text[0].upper() + text[1:] + blocking


def dbt_target_path(settings: Settings) -> Path:
    """dbt's target folder for Dagster runs, one per data folder: it keeps dbt's partial parse
    between runs (the settings dbt sees, such as the warehouse path, are those of this deployment),
    so a run parses only what changed instead of the whole project."""
    return settings.data_dir / "dbt_target"


def dbt_build_args(settings: Settings, full_refresh: bool) -> list[str]:
    """The `dbt build` command line of a run (vars follow the settings, so they are the same every run).
    dbt's unit tests check the models' logic, not the data: a full refresh runs them, daily runs
    (same code, new days) do not."""
    args = ["build", "--vars", json.dumps(settings.dbt_vars())]
    return args + (["--full-refresh"] if full_refresh else ["--exclude-resource-type", "unit_test"])


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LayerTranslator(),
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
    """Build the selected dbt models and run their tests, in one dbt invocation.

    In a run with a partition (range): the incremental models rebuild the days from its first day
    minus the look-back window. A full refresh (tag ahw/full_refresh, a range from the first
    partition, or no partition): everything rebuilt.
    """
    settings = get_settings()
    start = refresh_start_date(context.run.tags)
    # dbt's profiles.yml reads paths and the PII salt from the environment.
    os.environ.update(settings.export_for_dbt())
    os.environ[REFRESH_START_ENV] = start.isoformat() if start else ""
    target = dbt_target_path(settings)
    target.mkdir(parents=True, exist_ok=True)
    context.log.info(
        "dbt build: "
        + (
            f"incremental models from {start} minus {settings.lookback_days} look-back days"
            if start
            else "full refresh"
        )
    )
    invocation = dbt.cli(dbt_build_args(settings, full_refresh=start is None), context=context, target_path=target)
    streamed: set[str] = set()
    for event in invocation.stream():
        if isinstance(event, dg.Output):
            streamed.add(event.output_name)
        yield event
    yield from models_missing_from_stream(context, invocation.get_artifact("run_results.json"), streamed)
    if settings.engine == "spark":
        # the Python steps downstream read the Spark tables' Parquet files through these views
        with connect(settings) as con:
            mirrored = mirror_spark_tables(con, settings)
        context.log.info(f"Spark tables readable from the ingestion database: {len(mirrored)}")


def models_missing_from_stream(
    context: dg.AssetExecutionContext, run_results: Mapping[str, Any], streamed: set[str]
) -> Iterator[dg.Output]:
    """Outputs for the models dbt built but whose event never reached Dagster.

    Dagster reads dbt's events from its output, one JSON line each. A line that another writer
    cut (Spark's JVM writes its warnings to the same stream) cannot be read, and its model would
    count as not materialized: every step downstream of it would be skipped although dbt built it.
    `run_results.json`, which dbt writes at the end, says what was built.
    """
    key_by_unique_id = {
        spec.metadata[DBT_UNIQUE_ID]: spec.key
        for spec in context.assets_def.specs
        if DBT_UNIQUE_ID in spec.metadata and spec.key in context.selected_asset_keys
    }
    for result in run_results.get("results", []):
        key = key_by_unique_id.get(result.get("unique_id"))
        if key is None or result.get("status") != "success":
            continue
        output_name = key.to_python_identifier()
        if output_name in streamed:
            continue
        context.log.warning(
            f"dbt built {result['unique_id']}, but its event was lost from dbt's output; "
            "recorded from run_results.json."
        )
        yield dg.Output(
            None,
            output_name=output_name,
            metadata={"unique_id": result["unique_id"], "recorded_from": "run_results.json"},
        )
