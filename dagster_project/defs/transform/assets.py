"""dbt models as Dagster assets: one group per dbt layer folder, dbt tests as asset checks.

The incremental models (dbt tag `incremental`: the events and everything derived per account-day)
are daily-partitioned; the others are rebuilt in full on every run.
"""


import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from dagster_project.defs.transform.project import dbt_project
from dagster_project.partitions import daily_partitions, refresh_start_date, single_run
from dagster_project.settings import get_settings

INCREMENTAL_TAG = "tag:incremental"


class LayerTranslator(DagsterDbtTranslator):
    """Folder = group: `models/staging/...` is the `staging` group, and so on."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2:
            return fqn[1]
        return super().get_group_name(dbt_resource_props)


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, extra_vars: dict | None = None,
           full_refresh: bool = False) -> Iterator:
    settings = get_settings()
    # dbt's profiles.yml reads paths and the PII salt from the environment.
    os.environ.update(settings.export_for_dbt())
    # The dbt graph runs in several steps (partitioned and unpartitioned models interleave). A test
    # whose parents span steps (relationships to stg_product__accounts) must run in the step where
    # the last of them is built, not in the first step that touches one of them (dbt's default).
    os.environ.setdefault("DBT_INDIRECT_SELECTION", "buildable")
    args = ["build", "--vars", json.dumps({**settings.dbt_vars(), **(extra_vars or {})})]
    yield from dbt.cli(args + (["--full-refresh"] if full_refresh else []), context=context).stream()


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=LayerTranslator(),
            exclude=INCREMENTAL_TAG)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Build the selected dbt models (rebuilt in full) and run their tests."""
    yield from _build(context, dbt)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=LayerTranslator(),
            select=INCREMENTAL_TAG, partitions_def=daily_partitions, backfill_policy=single_run,
            name="dbt_incremental_models")
def dbt_incremental_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Build the selected incremental models and run their tests.

    With a partition (range): rebuild the days from its first day minus the look-back window.
    Without one: a full refresh.
    """
    start = refresh_start_date(context)
    if start is None:
        yield from _build(context, dbt, full_refresh=True)
    else:
        yield from _build(context, dbt, extra_vars={"refresh_start_date": start.isoformat()})
