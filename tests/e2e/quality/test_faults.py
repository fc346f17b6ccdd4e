"""Fault injection damages exactly the rows it reports, deterministically, and the loads reconcile."""

from __future__ import annotations

import duckdb
import pytest

from dagster_project.core.warehouse import connect
from dagster_project.simulate.faults import BAD_BILLING_INTERVAL, FAULTS, inject_faults, main
from tests.e2e.quality.conftest import copy_landing, load_all, use_warehouse


def _one(sql):
    with duckdb.connect() as con:
        return con.execute(sql).fetchone()[0]


def _count(landing, table, where="TRUE"):
    return _one(f"SELECT count(*) FROM read_parquet('{landing}/{table}/*.parquet') WHERE {where}")


def test_row_faults_hit_exactly_rate_times_rows(clean_landing, tmp_path):
    events = _count(clean_landing, "events")
    landing = copy_landing(clean_landing, tmp_path / "landing")
    report = inject_faults(landing, ["duplicates"], seed=1, rate=0.02)
    assert report["duplicates"]["rows"] == round(0.02 * events)
    assert _count(landing, "events") == events + report["duplicates"]["rows"]
    distinct = _one(f"SELECT count(DISTINCT event_id) FROM read_parquet('{landing}/events/*.parquet')")
    assert distinct == events


def test_faults_are_deterministic(clean_landing, tmp_path):
    a = inject_faults(copy_landing(clean_landing, tmp_path / "a"), ["orphans", "nulls"], seed=5)
    b = inject_faults(copy_landing(clean_landing, tmp_path / "b"), ["orphans", "nulls"], seed=5)
    assert a == b
    ids = [
        _one(
            f"SELECT list(event_id ORDER BY event_id) FROM read_parquet('{p}/events/*.parquet') "
            "WHERE account_id LIKE 'acc_unknown_%'"
        )
        for p in (tmp_path / "a", tmp_path / "b")
    ]
    assert ids[0] == ids[1] and len(ids[0]) == a["orphans"]["rows"]


def test_late_events_and_missing_day(clean_landing, tmp_path):
    landing = copy_landing(clean_landing, tmp_path / "landing")
    report = inject_faults(landing, ["late_events", "missing_day"], seed=0, late_days=2, missing_day_before_end=3)
    assert report["late_events"]["not_arrived_from"] == "2026-10-30 00:00:00"
    assert _count(landing, "events", "occurred_at >= '2026-10-30'") == 0
    assert report["missing_day"]["day"] == "2026-10-28"
    assert _count(landing, "events", "CAST(occurred_at AS DATE) = '2026-10-28'") == 0
    assert report["missing_day"]["rows"] > 0


def test_unknown_fault_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown fault"):
        inject_faults(tmp_path, ["gremlins"])


def test_cli_prints_the_report(clean_landing, tmp_path, capsys):
    landing = copy_landing(clean_landing, tmp_path / "landing")
    main(["--landing", str(landing), "--fault", "bad_enum", "--fault", "negative_amounts", "--rate", "0.1"])
    out = capsys.readouterr().out
    assert '"bad_enum"' in out and '"negative_amounts"' in out


def test_all_faults_together_reconcile_after_quarantine(clean_landing, tmp_path, monkeypatch):
    """landing rows = raw rows + quarantined rows, for every table, with every fault at once."""
    landing = copy_landing(clean_landing, tmp_path / "landing")
    report = inject_faults(landing, list(FAULTS), seed=2)
    use_warehouse(monkeypatch, tmp_path / "data", landing)
    loads = load_all()
    for name, result in loads.items():
        assert result.landed_rows == _count(landing, name)
        assert result.raw_rows + result.quarantined_rows == result.landed_rows
    # optional values are set to NULL in rows that stay; required ones quarantine their rows
    assert loads["tickets"].nulled[("unknown_enum_value", "priority")] == report["bad_enum"]["rows"]
    assert ("unknown_enum_value", "priority") not in loads["tickets"].by_reason
    # a row quarantined for its status keeps its interval as it arrived (nothing of it is nulled)
    with connect(read_only=True) as con:
        in_quarantine = con.execute(
            "SELECT count(*) FROM quarantine.subscriptions WHERE billing_interval = ?", [BAD_BILLING_INTERVAL]
        ).fetchone()[0]
    assert (
        loads["subscriptions"].nulled[("unparseable_value", "billing_interval")] + in_quarantine
        == (report["bad_billing_interval"]["rows"])
    )
    assert (
        loads["subscriptions"].by_reason[("unknown_enum_value", "status")]
        == (report["bad_subscription_status"]["rows"])
    )


def test_billing_interval_variants_keep_the_meaning(clean_landing, tmp_path, monkeypatch):
    """Other spellings of 'month' and 'year' are in the contract: nothing is quarantined or nulled."""
    landing = copy_landing(clean_landing, tmp_path / "landing")
    report = inject_faults(landing, ["billing_interval_variants"], seed=3, rate=0.5)
    spellings = _one(
        f"SELECT list(DISTINCT billing_interval ORDER BY billing_interval) "
        f"FROM read_parquet('{landing}/subscriptions/*.parquet')"
    )
    assert report["billing_interval_variants"]["rows"] > 0
    assert {"month", "year", "1 month", "annual"} <= set(spellings)
    use_warehouse(monkeypatch, tmp_path / "data", landing)
    subs = load_all()["subscriptions"]
    assert (subs.quarantined_rows, subs.nulled) == (0, {})
