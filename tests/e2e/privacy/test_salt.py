"""The PII salt comes from the environment; the prod target refuses to run without it (settings and dbt)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_project.core.settings import DBT_PROJECT_DIR, DEV_PII_SALT, get_settings


def test_prod_settings_without_salt_fail_clearly(monkeypatch):
    monkeypatch.setenv("DBT_TARGET", "prod")
    monkeypatch.delenv("AHW_PII_SALT", raising=False)
    with pytest.raises(RuntimeError, match="AHW_PII_SALT is not set"):
        get_settings()
    monkeypatch.setenv("AHW_PII_SALT", "")
    with pytest.raises(RuntimeError, match="AHW_PII_SALT"):
        get_settings()


def test_salt_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DBT_TARGET", "prod")
    monkeypatch.setenv("AHW_PII_SALT", "a-secret-from-the-vault")
    settings = get_settings()
    assert settings.pii_salt == "a-secret-from-the-vault"
    assert settings.export_for_dbt()["AHW_PII_SALT"] == "a-secret-from-the-vault"
    monkeypatch.setenv("DBT_TARGET", "dev")
    monkeypatch.delenv("AHW_PII_SALT")
    assert get_settings().pii_salt == DEV_PII_SALT  # dev only: a fixed, documented, non-secret salt


def _scratch_project(root: Path) -> Path:
    """A one-model dbt project with the real profile and macros: parsing it takes seconds, not a minute."""
    project = root / "project"
    shutil.copytree(DBT_PROJECT_DIR / "macros", project / "macros")
    shutil.copy(DBT_PROJECT_DIR / "profiles.yml", project / "profiles.yml")
    (project / "models").mkdir()
    (project / "models" / "hashed.sql").write_text(
        "select {{ pseudonymize(\"'someone@example.com'\") }} as email_hash\n"
    )
    (project / "dbt_project.yml").write_text(
        "name: account_health\nversion: '1.0.0'\nconfig-version: 2\nprofile: account_health\n"
        "model-paths: [models]\nmacro-paths: [macros]\n"
    )
    return project


def _dbt_parse(project: Path, **env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AHW_DUCKDB_PATH": str(project / "w.duckdb"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env}
    dbt = Path(sys.executable).parent / "dbt"
    return subprocess.run(
        [str(dbt), "parse", "--project-dir", str(project), "--profiles-dir", str(project), "--no-partial-parse"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_dbt_prod_target_without_salt_fails_clearly(tmp_path):
    project = _scratch_project(tmp_path)
    # An empty value is as bad as none: dbt's own env_var() would accept it.
    failed = _dbt_parse(project, DBT_TARGET="prod", AHW_PII_SALT="")
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0, output
    assert "AHW_PII_SALT is not set" in output and "prod target" in output
