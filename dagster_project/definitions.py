"""Dagster entry point: loads everything under `defs/` and applies project-wide policies."""

import datetime as dt
import os
from pathlib import Path

import dagster as dg
from dagster_shared.record import replace

# Who answers for each group: data engineering for the data flow, data science for the models,
# customer-success analytics for the scores, alerts and KPIs the CS team reads.
OWNERS = {
    "models": "team:data-science",
    "health": "team:customer-success-analytics",
}
DEFAULT_OWNER = "team:data-engineering"
# The models retrain weekly: older than this, a model missed its retrain.
MODELS_FRESHNESS = dt.timedelta(days=8)


def _with_owner(spec: dg.AssetSpec) -> dg.AssetSpec:
    owners = spec.owners or [OWNERS.get(spec.group_name or "", DEFAULT_OWNER)]
    return spec.replace_attributes(owners=owners)


@dg.definitions
def defs() -> dg.Definitions:
    from dagster_project.core.settings import get_settings
    from dagster_project.defs.publish.assets import published_marts_definitions
    from dagster_project.defs.resources import dbt
    from dagster_project.defs.transform.project import dbt_project
    from dagster_project.quality.sla import load_sla

    # In `dagster dev` the dbt manifest is rebuilt on load (dbt's profile reads these variables);
    # elsewhere `ahw prepare` builds it.
    for name, value in get_settings().export_for_dbt().items():
        os.environ.setdefault(name, value)
    dbt_project.prepare_if_dev()
    # One freshness policy for every mart, so a mart the daily refresh missed shows as stale in the UI;
    # one for the models (weekly retrain) and one for the raw events (the freshness SLA's hours).
    marts_freshness = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=get_settings().freshness_hours))
    models_freshness = dg.FreshnessPolicy.time_window(fail_window=MODELS_FRESHNESS)
    sla = load_sla()
    events_freshness = dg.FreshnessPolicy.time_window(
        fail_window=dt.timedelta(hours=sla.freshness_block_after_hours),
        warn_window=dt.timedelta(hours=sla.freshness_warn_after_hours),
    )
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    # A defs module that imports another's assets (the quality checks import dbt_models) is listed
    # twice by the loader; keep each once, or mapping the specs below would duplicate asset keys.
    unique = list({id(a): a for a in loaded.assets or []}.values())
    # Every asset links to the file that defines it (dbt models: their SQL file, from the translator).
    loaded = replace(loaded, assets=dg.with_source_code_references(unique))
    return (
        dg.Definitions.merge(
            loaded,
            # Publishing runs last: it depends on every mart that was loaded above.
            published_marts_definitions(loaded),
            # DuckDB allows one writing process per file: steps run one after another in one process.
            dg.Definitions(resources={"dbt": dbt}, executor=dg.in_process_executor),
        )
        .map_resolved_asset_specs(func=_with_owner)
        .map_resolved_asset_specs(
            func=lambda spec: dg.apply_freshness_policy(spec, marts_freshness),
            selection=dg.AssetSelection.key_prefixes("marts"),
        )
        .map_resolved_asset_specs(
            func=lambda spec: dg.apply_freshness_policy(spec, models_freshness, overwrite_existing=True),
            selection=dg.AssetSelection.groups("models"),
        )
        .map_resolved_asset_specs(
            func=lambda spec: dg.apply_freshness_policy(spec, events_freshness),
            selection=dg.AssetSelection.assets(["raw", "events"]),
        )
    )
