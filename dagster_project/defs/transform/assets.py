"""dbt models as Dagster assets: one group per dbt layer folder, dbt tests as asset checks."""


import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from dagster_project.defs.transform.project import dbt_project
from dagster_project.settings import get_settings


class LayerTranslator(DagsterDbtTranslator):
    """Folder = group: `models/staging/...` is the `staging` group, and so on."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2:
            return fqn[1]
        return super().get_group_name(dbt_resource_props)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=LayerTranslator())
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Build the selected dbt models and run their tests."""
    settings = get_settings()
    # dbt's profiles.yml reads paths and the PII salt from the environment.
    os.environ.update(settings.export_for_dbt())
    yield from dbt.cli(["build", "--vars", json.dumps(settings.dbt_vars())], context=context).stream()

