"""The publish functions on small hand-made warehouses: versions, pruning, clear errors."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from dagster_project.serve import publish


def _warehouse(path, rows: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS staging")
    con.execute(
        f"CREATE OR REPLACE TABLE marts.scores AS SELECT range AS account, range * 2 AS score FROM range({rows})"
    )
    con.execute("CREATE OR REPLACE VIEW marts.top_scores AS SELECT * FROM marts.scores WHERE score > 2")
    con.execute("CREATE OR REPLACE TABLE staging.not_published AS SELECT 1 AS x")
    con.close()


def test_every_table_and_view_of_marts_is_published_and_only_those(tmp_path):
    _warehouse(tmp_path / "w.duckdb", 5)
    manifest = publish.publish_marts(tmp_path / "w.duckdb", tmp_path / "pub", "run-1")
    assert {n: t["rows"] for n, t in manifest["tables"].items()} == {"scores": 5, "top_scores": 3}
    con = duckdb.connect(str(tmp_path / "pub" / "current" / publish.DUCKDB_FILE), read_only=True)
    assert con.execute(
        "SELECT table_schema || '.' || table_name, table_type FROM information_schema.tables ORDER BY 1"
    ).fetchall() == [("marts.scores", "BASE TABLE"), ("marts.top_scores", "BASE TABLE")]
    con.close()
    assert publish.read_manifest(tmp_path / "pub") == manifest


def test_versions_rotate_and_the_current_one_is_never_removed(tmp_path):
    versions = []
    for run in range(4):
        _warehouse(tmp_path / "w.duckdb", run + 1)
        versions.append(publish.publish_marts(tmp_path / "w.duckdb", tmp_path / "pub", f"run-{run}")["version"])
    kept = sorted(p.name for p in (tmp_path / "pub" / publish.VERSIONS).iterdir())
    assert kept == versions[-publish.KEEP_VERSIONS :]
    assert publish.current_dir(tmp_path / "pub").name == versions[-1]
    assert publish.read_manifest(tmp_path / "pub")["tables"]["scores"]["rows"] == 4


def test_versions_published_at_one_pinned_instant_rotate_in_publish_order(tmp_path):
    # With a pinned clock every version has the same timestamp; the run ids sort against the
    # publish order, so only the publish order may decide what is kept.
    instant = dt.datetime(2026, 11, 23, 5, tzinfo=dt.UTC)
    versions = []
    for run_id in ["ffff-first", "cccc-second", "aaaa-third"]:
        _warehouse(tmp_path / "w.duckdb", len(versions) + 1)
        versions.append(
            publish.publish_with(
                tmp_path / "pub", publish.copy_schema_from(tmp_path / "w.duckdb"), run_id, "test", published_at=instant
            )["version"]
        )
    kept = {p.name for p in (tmp_path / "pub" / publish.VERSIONS).iterdir()}
    assert kept == set(versions[-publish.KEEP_VERSIONS :])
    assert publish.current_dir(tmp_path / "pub").name == versions[-1]


def test_a_failing_publish_keeps_the_current_set_and_leaves_nothing_behind(tmp_path):
    _warehouse(tmp_path / "w.duckdb", 3)
    before = publish.publish_marts(tmp_path / "w.duckdb", tmp_path / "pub", "good")

    def broken(con):
        con.execute("CREATE TABLE marts.half AS SELECT 1 AS x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        publish.publish_with(tmp_path / "pub", broken, "bad", source="test")
    assert publish.read_manifest(tmp_path / "pub") == before
    assert [p.name for p in (tmp_path / "pub" / publish.VERSIONS).iterdir()] == [before["version"]]


def test_clear_errors_for_a_missing_warehouse_or_no_marts(tmp_path):
    with pytest.raises(publish.PublishError, match=r"w\.duckdb does not exist.*full_refresh"):
        publish.publish_marts(tmp_path / "w.duckdb", tmp_path / "pub", "run")
    duckdb.connect(str(tmp_path / "w.duckdb")).close()
    with pytest.raises(publish.PublishError, match="no tables in schema 'marts'"):
        publish.publish_marts(tmp_path / "w.duckdb", tmp_path / "pub", "run")
    assert publish.current_dir(tmp_path / "pub") is None
