"""dbt from Python, outside Dagster's dbt asset: on the configured engine, with the settings' vars.

The engine parity test, `ahw warehouse --dbt ...` and the Spark write-back of the Python-written
marts (`dbt run-operation`) start dbt this way. Its target folder is one per engine, beside the
Dagster runs' own (`<AHW_DATA_DIR>/dbt_target/<engine>`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dagster_project.core.settings import DBT_PROJECT_DIR, Settings


def dbt_command(settings: Settings, args: list[str]) -> list[str]:
    """A dbt command line on the configured engine, with the settings' vars and its own target path."""
    return [
        str(Path(sys.executable).parent / "dbt"),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(settings.data_dir / "dbt_target" / settings.engine),
        "--vars",
        json.dumps(settings.dbt_vars()),
    ]


def run_dbt(settings: Settings, args: list[str]) -> subprocess.CompletedProcess:
    """Run dbt (`args`, e.g. ["build"]) on the configured engine; output captured, never raises."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        dbt_command(settings, args),
        env={**os.environ, **settings.export_for_dbt()},
        cwd=settings.data_dir,
        capture_output=True,
        text=True,
    )
