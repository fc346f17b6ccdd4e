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


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Tests marked slow run with AHW_SLOW_TESTS=1 or when selected with -m slow; tests marked spark
    only when selected with -m spark (`make test-spark`). The default run stays fast.

    On pytest-xdist workers (`make test`: --dist loadgroup), a test file is one group unless it
    names its own (the modules of the shared full_refresh run, tests/e2e/finished_run.py): a
    module's fixtures are built once, on one worker."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
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
