"""Resources shared by the asset groups."""

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource

from dagster_project.defs.transform.project import dbt_project

# The dbt installed beside this Python, whether or not the virtualenv is activated.
dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt"))
