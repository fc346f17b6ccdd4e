"""What the Dagster UI shows about each asset: a group, an owner and a description without raw SQL
for every asset, a column schema and table name for every Python mart, readable dbt test
descriptions, rounded floats."""

from __future__ import annotations

import math

import dagster as dg
import pytest

from dagster_project.defs.metadata import rounded
from dagster_project.defs.transform.assets import dbt_test_description


@pytest.fixture(scope="module")
def graph():
    from dagster_project.definitions import defs

    return defs().resolve_asset_graph()


def test_every_asset_has_a_group_an_owner_and_a_description_without_raw_sql(graph):
    problems = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        spec = node.to_asset_spec() if hasattr(node, "to_asset_spec") else None
        description = node.description or ""
        owners = spec.owners if spec is not None else node.owners
        if not node.group_name or not owners or not description.strip() or "Raw SQL" in description:
            problems[key.to_user_string()] = (node.group_name, owners, description[-40:])
    assert problems == {}


def test_every_python_mart_declares_its_table_and_columns(graph):
    python_marts = [
        key
        for key in graph.get_all_asset_keys()
        if key.path[0] == "marts" and "python" in (graph.get(key).kinds or set())
    ]
    assert dg.AssetKey(["marts", "mart_account_health"]) in python_marts
    assert dg.AssetKey(["marts", "mart_model_performance"]) in python_marts
    assert dg.AssetKey(["marts", "mart_data_quality"]) in python_marts
    for key in python_marts:
        metadata = graph.get(key).metadata
        assert metadata["dagster/table_name"] == f"marts.{key.path[-1]}", key
        assert len(metadata["dagster/column_schema"].columns) > 3, key


def test_every_asset_links_to_its_code(graph):
    missing = [
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if "dagster/code_references" not in graph.get(key).metadata
    ]
    assert missing == []


def test_dbt_tests_say_what_they_guard():
    accepted = {
        "name": "accepted_values_fct_x_size_band__1_49",
        "test_metadata": {"name": "accepted_values", "kwargs": {"column_name": "size_band", "values": ["1-49", "50+"]}},
        "config": {"severity": "ERROR"},
    }
    assert dbt_test_description(accepted) == "`size_band` takes only the values 1-49, 50+. Blocking."
    relation = {
        "test_metadata": {
            "name": "relationships",
            "kwargs": {"column_name": "account_id", "to": "ref('dim_accounts')", "field": "account_id"},
        },
        "config": {"severity": "warn"},
    }
    assert dbt_test_description(relation) == "Every `account_id` exists in dim_accounts.account_id. Warns."
    assert dbt_test_description({"description": "Labels never leak.", "config": {}}) == "Labels never leak."


def test_floats_are_rounded_and_missing_stays_missing():
    assert rounded(0.8181818181818182) == 0.8182
    assert rounded(float("nan")) is None and rounded(None) is None
    assert not math.isnan(rounded(1.23456, 2))
