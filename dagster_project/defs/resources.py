"""Resources shared by the asset groups."""

import sys
from functools import cached_property
from importlib.metadata import version as package_version
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version

from dagster_project.defs.transform.project import dbt_project


class ProjectDbtCliResource(DbtCliResource):
    """dbt as the project runs it: the dbt installed beside this Python, started without two
    costs of the base class that buy the project nothing (about 10 s of every daily run):

    - the version comes from the installed dbt-core package; asking the executable
      (`dbt --version`) imports all of dbt and looks up the newest release online (~6 s);
    - no dbt adapter is loaded into the Dagster process: it only serves the optional row-count and
      column-metadata queries, which the project does not use (~4.5 s, and a second connection to
      the warehouse file while dbt writes to it).
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(package_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args) -> None:
        return None


# The dbt installed beside this Python, whether or not the virtualenv is activated.
dbt = ProjectDbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt"))
