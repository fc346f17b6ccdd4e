"""The dbt invocations of the pipeline carry the settings' vars (the churn definition among them)."""

from __future__ import annotations

import json

import pytest

from dagster_project.core.settings import get_settings
from dagster_project.defs.transform.assets import dbt_build_args


@pytest.mark.parametrize("full_refresh", [True, False])
def test_dbt_build_passes_the_churn_definition(monkeypatch: pytest.MonkeyPatch, full_refresh: bool) -> None:
    monkeypatch.setenv("AHW_CHURN_DEFINITION", "dormancy")
    args = dbt_build_args(get_settings(), full_refresh=full_refresh)
    assert json.loads(args[args.index("--vars") + 1])["churn_definition"] == "dormancy"
