"""A model that dbt built counts as materialized even when its event line in dbt's output is cut.

Dagster reads dbt's events from dbt's output, one JSON line each, and dbt's output also carries
whatever the adapter's other writers print (Spark's JVM logs to the same stream). Here a wrapper
around the real dbt cuts the line that reports one model as built, the way an interleaved
warning does. The model must still be recorded (from `run_results.json`), so nothing downstream of
it is skipped.
"""

from __future__ import annotations

import sys
import textwrap

import dagster as dg

from dagster_project.defs.resources import ProjectDbtCliResource, dbt
from dagster_project.defs.transform.assets import dbt_models
from dagster_project.defs.transform.project import dbt_project
from tests.e2e.finished_run import company_copy, use_company

CUT_MODEL = "stg_product__accounts"
KEPT_MODEL = "stg_product__users"

WRAPPER = """\
#!{python}
import subprocess, sys
dbt = subprocess.Popen([{dbt!r}, *sys.argv[1:]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
for line in dbt.stdout:
    if b'"NodeFinished"' in line and b'"model.account_health.{model}"' in line:
        # a warning written into the middle of the line, as another writer of the stream would
        line = line[:60] + b"WARN Utils: Service 'SparkUI' could not bind\\n" + line[60:]
    sys.stdout.buffer.write(line)
    sys.stdout.buffer.flush()
sys.exit(dbt.wait())
"""


def test_a_built_model_whose_event_line_was_cut_is_still_materialized(tmp_path_factory):
    company = company_copy(tmp_path_factory, "dbt-events")
    wrapper = company.root.parent / "dbt-cutting-one-line"
    wrapper.write_text(textwrap.dedent(WRAPPER).format(python=sys.executable, dbt=dbt.dbt_executable, model=CUT_MODEL))
    wrapper.chmod(0o755)
    selected = [dg.AssetKey(["staging", CUT_MODEL]), dg.AssetKey(["staging", KEPT_MODEL])]
    with use_company(company):
        result = dg.materialize(
            [dbt_models],
            selection=selected,
            resources={"dbt": ProjectDbtCliResource(project_dir=dbt_project, dbt_executable=str(wrapper))},
            raise_on_error=False,
        )
    assert result.success
    materialized = {e.asset_key: e for e in result.get_asset_materialization_events()}
    assert set(materialized) == set(selected)
    recovered = materialized[selected[0]].materialization.metadata
    assert recovered["recorded_from"].value == "run_results.json"
    assert "recorded_from" not in materialized[selected[1]].materialization.metadata
