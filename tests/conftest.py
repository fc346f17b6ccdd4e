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
