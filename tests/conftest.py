"""Session setup shared by every test folder."""

from __future__ import annotations

import os

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    # Loading the Dagster definitions needs the dbt manifest; build it once if a fresh clone lacks it.
    from dagster_project.cli import build_dbt_manifest
    from dagster_project.core.settings import get_settings
    from dagster_project.defs.transform.project import dbt_project

    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    if not dbt_project.manifest_path.exists():
        build_dbt_manifest(get_settings())


SLOW_ENV = "AHW_SLOW_TESTS"


def pytest_collection_modifyitems(config, items):
    """Tests marked slow run with AHW_SLOW_TESTS=1 or when selected with -m slow; tests marked spark
    only when selected with -m spark (`make test-spark`). The default run stays fast."""
    selected = config.getoption("-m") or ""
    skips = {}
    if not (os.environ.get(SLOW_ENV) == "1" or "slow" in selected):
        skips["slow"] = pytest.mark.skip(reason=f"slow: set {SLOW_ENV}=1 or run `pytest -m slow`")
    if "spark" not in selected:
        skips["spark"] = pytest.mark.skip(reason="Spark: run `make test-spark` (pytest -m spark)")
    for item in items:
        for marker, skip in skips.items():
            if marker in item.keywords:
                item.add_marker(skip)
