"""Great Expectations imports in a Dagster step process, with or without the spark extra installed.

Such a process has a `__main__` without a file. GX probes pyspark on import, and pyspark's Spark
Connect module exits a process like that (it takes it for a doctest run): every data-quality
check would end with SystemExit(0) once `make install-spark` had run. `import_gx` keeps pyspark
out of GX's import.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from dagster_project.core.settings import REPO_ROOT

STEP_PROCESS = """
import sys, types
sys.modules["__main__"] = types.ModuleType("__main__")  # no __spec__, no __file__: a step process
{before}
from dagster_project.quality.gx_runtime import import_gx
gx = import_gx()
print("imported", gx.__name__, "pyspark" in sys.modules)
"""


def _step_process(before: str = "") -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", STEP_PROCESS.format(before=before)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), f"the process exited before GX was imported: {result.stderr[-3000:]}"
    return result.stdout.strip().splitlines()[-1].split()


def test_gx_imports_in_a_process_whose_main_has_no_file() -> None:
    assert _step_process() == ["imported", "great_expectations", "False"]


@pytest.mark.spark  # `make test-spark`: the spark extra is installed there
def test_gx_imports_after_the_process_imported_pyspark_itself() -> None:
    """A test worker or a step that touched pyspark before (dbt-spark, the engine's helpers)."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed: `make install-spark`")
    assert _step_process(before="import pyspark") == ["imported", "great_expectations", "True"]
