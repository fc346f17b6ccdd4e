"""Publishing for BI, end to end: the marts of a real run, published atomically and read while refreshing.

The module works on its own copy of one full_refresh run of a small simulated company (see
tests/e2e/finished_run.py). It then runs the daily_refresh job with a reader holding the published file open,
kills a publish midway, and runs a refresh that a blocking check stops.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project.defs.partitions import full_refresh_tags
from dagster_project.serve import publish
from dagster_project.simulate.faults import inject_faults
from tests.e2e.finished_run import SHARED_RUN, company_copy, run_job, use_company
from tests.e2e.publish.reader import fingerprint

pytestmark = SHARED_RUN

REPO = Path(__file__).resolve().parents[3]
PUBLISHED = dg.AssetKey(["published", "marts"])


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    company = company_copy(tmp_path_factory, "publish")
    with use_company(company):
        yield company


def _published_fingerprint(folder: Path) -> dict:
    con = duckdb.connect(str(folder / publish.DUCKDB_FILE), read_only=True)
    try:
        return fingerprint(con)
    finally:
        con.close()


def _warehouse_fingerprint(warehouse: Path) -> dict:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return fingerprint(con)
    finally:
        con.close()


def _materialized(result) -> set[dg.AssetKey]:
    return {e.asset_key for e in result.get_asset_materialization_events()}


def test_published_set_matches_the_manifest_and_the_warehouse(company):
    manifest = publish.read_manifest(company.publish_dir)
    current = publish.current_dir(company.publish_dir)
    assert manifest is not None and current.name == manifest["version"]
    warehouse = _warehouse_fingerprint(company.warehouse)
    # every mart the run built, the Python ones and the data-quality history included
    assert {"dim_accounts", "mart_account_health", "ml_account_snapshots", "mart_data_quality"} <= set(warehouse)
    assert set(manifest["tables"]) == set(warehouse)
    assert _published_fingerprint(current) == warehouse
    assert {p.stem for p in (current / publish.PARQUET_DIR).iterdir()} == set(warehouse)
    con = duckdb.connect()
    for name, table in manifest["tables"].items():
        assert table["rows"] == warehouse[name][0], name
        parquet = current / table["parquet"]
        assert con.execute(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchall()[0][0] == table["rows"]
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{parquet}')").fetchall()]
        assert columns == [c["name"] for c in table["columns"]], name
    # read-only on disk: a BI tool cannot change what it reads
    for path in [
        current / publish.DUCKDB_FILE,
        current / publish.MANIFEST_FILE,
        *(current / publish.PARQUET_DIR).iterdir(),
    ]:
        assert path.stat().st_mode & 0o222 == 0, path
    assert (company.publish_dir / publish.CURRENT).is_symlink()


def test_a_reader_holding_the_file_open_neither_blocks_nor_sees_a_refresh(company, tmp_path):
    before = publish.read_manifest(company.publish_dir)
    old_folder = publish.current_dir(company.publish_dir)
    old_set = _published_fingerprint(old_folder)
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("reader.py")),
            str(company.publish_dir / publish.CURRENT / publish.DUCKDB_FILE),
            str(stop),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = json.loads(reader.stdout.readline())  # the connection is open
        assert first == old_set
        result = run_job("daily_refresh")
        assert reader.poll() is None, "the reader should still be running"
        stop.touch()
        out, err = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, err
    readings = [first] + [json.loads(line) for line in out.splitlines()]
    assert result.success
    assert PUBLISHED in _materialized(result)
    # the refresh took a while: the reader read many times, always the same complete old set,
    # the last time after the new set had been swapped in
    assert len(readings) >= 5
    assert all(r == old_set for r in readings)

    after = publish.read_manifest(company.publish_dir)
    assert after["version"] != before["version"] and after["run_id"] == result.run_id
    new_set = _published_fingerprint(company.publish_dir / publish.CURRENT)
    assert new_set == _warehouse_fingerprint(company.warehouse)
    # The refresh changed what is published (every run appends its checks to mart_data_quality),
    # so the reader's unchanged readings above were the old set, not a coincidence.
    assert new_set != old_set


def _staging_dirs(publish_dir: Path) -> list[Path]:
    return list((publish_dir / publish.VERSIONS).glob(f"{publish.STAGING_PREFIX}*"))


def test_a_publish_killed_midway_leaves_the_previous_complete_set(company):
    # The publish step the asset runs, as its own process (the settings come from the environment).
    command = [sys.executable, "-m", "dagster_project.cli", "publish", "--run-id", "killed"]
    for _attempt in range(3):
        before = publish.read_manifest(company.publish_dir)
        before_set = _published_fingerprint(publish.current_dir(company.publish_dir))
        proc = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        # wait until the new set is being written, then kill it
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if any((d / publish.DUCKDB_FILE).exists() for d in _staging_dirs(company.publish_dir)):
                break
            time.sleep(0.001)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        if publish.read_manifest(company.publish_dir)["version"] == before["version"]:
            break  # killed before the swap: the case under test
    else:
        pytest.fail("the publish finished before it could be killed, three times")
    assert proc.returncode == -signal.SIGKILL
    assert _staging_dirs(company.publish_dir), "the killed publish left its half-written set"
    # readers still get the previous set, complete and as it was
    current = publish.current_dir(company.publish_dir)
    assert publish.read_manifest(company.publish_dir) == before
    assert _published_fingerprint(current) == before_set
    assert set(before["tables"]) == {p.stem for p in (current / publish.PARQUET_DIR).iterdir()}
    # the next publish cleans up and succeeds
    manifest = publish.publish_marts(company.warehouse, company.publish_dir, "after-kill")
    assert _staging_dirs(company.publish_dir) == []
    assert publish.read_manifest(company.publish_dir) == manifest
    assert len([p for p in (company.publish_dir / publish.VERSIONS).iterdir()]) == publish.KEEP_VERSIONS


def test_a_refresh_stopped_by_a_blocking_check_does_not_publish(company):
    before = publish.read_manifest(company.publish_dir)
    before_set = _published_fingerprint(publish.current_dir(company.publish_dir))
    inject_faults(company.landing, ["orphans"], seed=5, rate=0.05)
    # A full reload, so the orphans spread over the whole history are all loaded and checked.
    result = run_job("daily_refresh", tags=full_refresh_tags())
    assert not result.success
    failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert any(
        e.asset_key == dg.AssetKey(["raw", "events"]) and e.check_name == "referential_integrity" for e in failed_checks
    )
    assert PUBLISHED not in _materialized(result)
    assert publish.read_manifest(company.publish_dir) == before
    assert _published_fingerprint(publish.current_dir(company.publish_dir)) == before_set
