"""Great Expectations imports in a Dagster step process, with or without the spark extra installed.

Such a process has a `__main__` without a file. GX probes pyspark on import, and pyspark's Spark
Connect module exits a process like that (it takes it for a doctest run): every data-quality
check would end with SystemExit(0) once `make install-spark` had run. `import_gx` keeps pyspark
out of GX's import.
"""

from __future__ import annotations

import subprocess
import sys

from dagster_project.core.settings import REPO_ROOT

STEP_PROCESS = """
import sys, types
sys.modules["__main__"] = types.ModuleType("__main__")  # no __spec__, no __file__: a step process
from dagster_project.quality.gx_runtime import import_gx
gx = import_gx()
print("imported", gx.__name__, "pyspark" in sys.modules)
"""


def test_gx_imports_in_a_process_whose_main_has_no_file() -> None:
    result = subprocess.run(
        [sys.executable, "-c", STEP_PROCESS], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "imported great_expectations False", result.stderr[-3000:]
