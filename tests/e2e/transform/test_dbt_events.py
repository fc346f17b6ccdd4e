"""A model that dbt built counts as materialized even when its event line in dbt's output is cut.

Dagster reads dbt's events from dbt's output, one JSON line each, and dbt's output also carries
whatever the adapter's other writers print (Spark's JVM logs to the same stream). Here a wrapper
around the real dbt cuts the line that reports one model as built (LogModelResult, the
event Dagster reads for dbt Core), the way an interleaved
warning does. The model must still be recorded (from `run_results.json`), so nothing downstream of
it is skipped.
"""

from __future__ import annotations

import datetime as dt
import sys
import textwrap

import dagster as dg
import pytest

from dagster_project.cli.engines import load_raw
from dagster_project.core.settings import get_settings
from dagster_project.defs.resources import ProjectDbtCliResource, dbt
from dagster_project.defs.transform.assets import dbt_models
from dagster_project.defs.transform.project import dbt_project
from dagster_project.simulate import SimulationConfig, generate

CUT_MODEL = "stg_product__accounts"
KEPT_MODEL = "stg_product__users"

WRAPPER = """\
#!{python}
import subprocess, sys
dbt = subprocess.Popen([{dbt!r}, *sys.argv[1:]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
for line in dbt.stdout:
    if b'"LogModelResult"' in line and b'"model.account_health.{model}"' in line:
        # a warning written into the middle of the line, as another writer of the stream would
        line = line[:60] + b"WARN Utils: Service 'SparkUI' could not bind\\n" + line[60:]
    sys.stdout.buffer.write(line)
    sys.stdout.buffer.flush()
sys.exit(dbt.wait())
"""


def test_a_built_model_whose_event_line_was_cut_is_still_materialized(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AHW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AHW_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("AHW_NOW", "2026-11-23T05:00:00")
    monkeypatch.delenv("DBT_TARGET", raising=False)
    generate(SimulationConfig(n_accounts=10, months=2, end_date=dt.date(2026, 11, 22)), tmp_path / "landing")
    load_raw(get_settings())  # the raw tables the two staging models read
    wrapper = tmp_path / "dbt-cutting-one-line"
    wrapper.write_text(textwrap.dedent(WRAPPER).format(python=sys.executable, dbt=dbt.dbt_executable, model=CUT_MODEL))
    wrapper.chmod(0o755)
    # every staging model, so the tests that join staging models (relationships) find their tables
    selected = sorted(key for key in dbt_models.keys if key.path[0] == "staging")
    cut, kept = dg.AssetKey(["staging", CUT_MODEL]), dg.AssetKey(["staging", KEPT_MODEL])
    assert {cut, kept} <= set(selected)
    result = dg.materialize(
        [dbt_models],
        selection=selected,
        resources={"dbt": ProjectDbtCliResource(project_dir=dbt_project, dbt_executable=str(wrapper))},
        raise_on_error=False,
    )
    assert result.success
    materialized = {e.asset_key: e for e in result.get_asset_materialization_events()}
    assert set(materialized) == set(selected)
    assert materialized[cut].materialization.metadata["recorded_from"].value == "run_results.json"
    assert [key for key, e in materialized.items() if "recorded_from" in e.materialization.metadata] == [cut]
    assert "recorded_from" not in materialized[kept].materialization.metadata
