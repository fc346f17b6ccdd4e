"""The churn definition setting: read from AHW_CHURN_DEFINITION, validated, a dbt var."""

from __future__ import annotations

import pytest

from dagster_project.core.settings import CHURN_DEFINITIONS, get_settings


def test_churn_definition_defaults_to_contractual(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AHW_CHURN_DEFINITION", raising=False)
    assert get_settings().dbt_vars()["churn_definition"] == "contractual"


@pytest.mark.parametrize("definition", CHURN_DEFINITIONS)
def test_every_definition_becomes_the_dbt_var(monkeypatch: pytest.MonkeyPatch, definition: str) -> None:
    monkeypatch.setenv("AHW_CHURN_DEFINITION", f" {definition.upper()} ")
    assert get_settings().dbt_vars()["churn_definition"] == definition


def test_unknown_churn_definition_names_the_variable_and_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AHW_CHURN_DEFINITION", "inactivity")
    with pytest.raises(ValueError, match=r"AHW_CHURN_DEFINITION='inactivity'.*contractual, activity, dormancy"):
        get_settings()


def test_qualifying_events_reach_dbt_as_a_list(monkeypatch):
    monkeypatch.setenv("AHW_QUALIFYING_EVENTS", " order_placed, checkout_completed ,")
    assert get_settings().dbt_vars()["qualifying_event_names"] == ["order_placed", "checkout_completed"]
    monkeypatch.delenv("AHW_QUALIFYING_EVENTS")
    assert get_settings().dbt_vars()["qualifying_event_names"] == []
