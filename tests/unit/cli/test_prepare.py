"""`ahw prepare` simulates the company shape named by AHW_SIM_SHAPE, and refuses an unknown one
before writing anything."""

from __future__ import annotations

import pytest

from dagster_project.cli import prepare
from dagster_project.core.settings import get_settings


def test_unknown_simulator_shape_names_the_variable_and_the_choices(tmp_path, monkeypatch):
    monkeypatch.setenv("AHW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AHW_SIM_SHAPE", "crm")
    with pytest.raises(ValueError, match=r"AHW_SIM_SHAPE='crm'.*all_sources.*accounts_events.*purchases"):
        prepare(get_settings())
    assert not (tmp_path / "landing").exists()


def test_default_shape_when_the_variable_is_unset(monkeypatch):
    monkeypatch.delenv("AHW_SIM_SHAPE", raising=False)
    assert get_settings().simulator_shape == "all_sources"
