"""The dbt project as Dagster sees it."""

from dagster_dbt import DbtProject

from dagster_project.core.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
