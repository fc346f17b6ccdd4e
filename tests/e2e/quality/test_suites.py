"""The committed GX suites are exactly what the generator makes from the contract and the SLA file."""

from __future__ import annotations

import json

import yaml

from dagster_project.core.contract import TABLES
from dagster_project.core.settings import EXPECTATIONS_DIR
from dagster_project.quality import gx_runtime
from dagster_project.quality.suites import DATASOURCE, expected_suites

REGENERATE = "Regenerate with `ahw suites` and commit expectations/."


def _committed(name: str) -> dict:
    schema, table = name.split(".", 1)
    path = EXPECTATIONS_DIR / "suites" / schema / f"{table}.json"
    assert path.exists(), f"{path} is missing. {REGENERATE}"
    return json.loads(path.read_text())


def test_committed_suites_match_the_generator():
    for name, spec in expected_suites().items():
        committed = [(e["type"], e["kwargs"], e["meta"]) for e in _committed(name)["expectations"]]
        generated = [
            (e.type, {k: v for k, v in e.kwargs.items() if k != "description"}, e.meta()) for e in spec.expectations
        ]
        # JSON round trip: tuples become lists, like in the committed file
        generated = json.loads(json.dumps(generated))
        committed = json.loads(json.dumps(committed))
        assert sorted(committed, key=json.dumps) == sorted(generated, key=json.dumps), (
            f"suite {name} is stale. {REGENERATE}"
        )


def test_every_suite_has_a_data_asset_and_a_validation_definition():
    config = yaml.safe_load((EXPECTATIONS_DIR / "great_expectations.yml").read_text())
    assets = config["fluent_datasources"][DATASOURCE]["assets"]
    # the warehouse, opened with the project's memory limit, threads and spill folder
    assert config["fluent_datasources"][DATASOURCE]["connection_string"] == gx_runtime.CONNECTION_STRING
    assert "memory_limit=${AHW_DUCKDB_MEMORY_LIMIT}" in gx_runtime.CONNECTION_STRING
    assert config["analytics_enabled"] is False
    for name, spec in expected_suites().items():
        assert assets[name]["query"] == spec.query, f"data asset {name} is stale. {REGENERATE}"
        assert (EXPECTATIONS_DIR / "validation_definitions" / f"{name}.json").exists()


def test_one_suite_per_raw_table_and_the_training_gate():
    names = set(expected_suites())
    assert {t.qualified_name for t in TABLES.values()} <= names
    assert "marts.ml_account_snapshots" in names
    events = expected_suites()["raw.events"]
    slas = {e.sla for e in events.expectations}
    assert slas == {"completeness", "duplicates", "referential_integrity", "validity"}
    assert all(e.meta()["threshold"] is not None for e in events.expectations)


def test_committed_config_has_no_machine_paths():
    text = (EXPECTATIONS_DIR / "great_expectations.yml").read_text()
    assert "/tmp" not in text and "/work" not in text and "/home" not in text


def _settings_seen_through_gx() -> tuple:
    """DuckDB's settings on a connection of the GX data source's engine."""
    import sqlalchemy as sa

    engine = gx_runtime.get_context().data_sources.get(DATASOURCE).get_engine()
    try:
        with engine.connect() as con:
            return tuple(
                con.execute(
                    sa.text(
                        "SELECT current_setting('memory_limit'), current_setting('threads'), "
                        "current_setting('temp_directory')"
                    )
                ).one()
            )
    finally:
        engine.dispose()


def test_gx_opens_the_warehouse_with_the_project_duckdb_settings(tmp_path, monkeypatch):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import duckdb

    monkeypatch.setenv("AHW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AHW_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("AHW_DUCKDB_TEMP_DIRECTORY", str(tmp_path / "spill"))
    monkeypatch.setenv("AHW_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("AHW_DUCKDB_THREADS", "1")
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    # in a child, as gx_runtime.validate does: GX's DuckDB objects must not outlive the test process
    # (an executor, not a Pool: a child that dies fails the test instead of leaving it waiting)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
        limit, threads, spill = pool.submit(_settings_seen_through_gx).result()
    assert (limit, threads, spill) == ("953.6 MiB", 1, str(tmp_path / "spill"))
