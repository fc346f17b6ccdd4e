"""The training gate fails (blocking) on broken feature snapshots and names what broke."""

from __future__ import annotations

import duckdb

from dagster_project.quality import run
from tests.e2e.quality.conftest import use_warehouse


def _snapshots(path, rows):
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.ml_account_snapshots (account_id VARCHAR, as_of_date DATE, "
            "is_censored BOOLEAN, churned_within_90d BOOLEAN, logins_30d DOUBLE)"
        )
        con.executemany("INSERT INTO marts.ml_account_snapshots VALUES (?, ?, ?, ?, ?)", rows)


def test_gate_passes_on_good_snapshots(tmp_path, monkeypatch):
    use_warehouse(monkeypatch, tmp_path, tmp_path / "landing")
    rows = [(f"a{i}", f"2026-0{1 + w}-05", False, i % 7 == 0, 3.0) for i in range(60) for w in range(2)]
    rows += [(f"a{i}", "2026-10-05", True, None, 1.0) for i in range(60)]
    _snapshots(tmp_path / "warehouse.duckdb", rows)
    verdict = run.run_snapshot_gate("gate-ok", build_docs=False).verdicts[("ml_account_snapshots", "training_gate")]
    assert verdict.passed, verdict.description


def test_gate_blocks_on_duplicate_keys_and_labelled_censored_rows(tmp_path, monkeypatch):
    use_warehouse(monkeypatch, tmp_path, tmp_path / "landing")
    rows = [(f"a{i}", "2026-01-05", False, False, 3.0) for i in range(150)]
    rows += [("a1", "2026-01-05", False, True, 3.0), ("a2", "2026-10-05", True, True, 1.0)]
    _snapshots(tmp_path / "warehouse.duckdb", rows)
    result = run.run_snapshot_gate("gate-bad", build_docs=False)
    verdict = result.verdicts[("ml_account_snapshots", "training_gate")]
    assert not verdict.passed and verdict.severity == "block"
    failed = {(o.check, o.column) for o in result.outcomes if not o.passed}
    assert ("expect_compound_columns_to_be_unique", "account_id,as_of_date") in failed
    assert any(check == "unexpected_rows_expectation" for check, _ in failed)
    assert "a1" in verdict.metadata["example_bad_keys"] or any(
        "a1" in o.examples[0] for o in result.outcomes if o.examples
    )
