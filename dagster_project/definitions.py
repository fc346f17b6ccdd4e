"""Dagster entry point: loads everything under `defs/` and applies project-wide policies."""

import os
from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    from dagster_project.defs.publish.assets import published_marts_definitions
    from dagster_project.defs.resources import dbt
    from dagster_project.defs.transform.project import dbt_project
    from dagster_project.settings import get_settings

    # In `dagster dev` the dbt manifest is rebuilt on load (dbt's profile reads these variables);
    # elsewhere `python -m dagster_project.cli prepare` builds it.
    for name, value in get_settings().export_for_dbt().items():
        os.environ.setdefault(name, value)
    dbt_project.prepare_if_dev()
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    return dg.Definitions.merge(
        loaded,
        # Publishing runs last: it depends on every mart that was loaded above.
        published_marts_definitions(loaded),
        # DuckDB allows one writing process per file: steps run one after another in one process.
        dg.Definitions(resources={"dbt": dbt}, executor=dg.in_process_executor),
    )
