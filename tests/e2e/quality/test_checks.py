"""For each fault, the right check fails (or the rows are quarantined) with the right numbers.

Runs the real GX suites against a DuckDB warehouse loaded the way the ingest assets load it.
"""

from __future__ import annotations

import pytest

from dagster_project.core.contract import TABLES
from dagster_project.quality import gx_runtime, run
from dagster_project.quality.sla import load_sla
from dagster_project.simulate.faults import inject_faults
from tests.e2e.quality.conftest import copy_landing, load_all, use_warehouse

EVENT_CHECKS = ["events"]


@pytest.fixture()
def faulted(clean_landing, tmp_path, monkeypatch):
    """Inject faults into a copy of the clean company, load it, return (fault report, load results)."""

    def make(faults, rate=0.02, **kwargs):
        landing = copy_landing(clean_landing, tmp_path / "landing")
        report = inject_faults(landing, faults, seed=11, rate=rate, **kwargs) if faults else {}
        use_warehouse(monkeypatch, tmp_path / "data", landing)
        return report, load_all()

    return make


def _checks(tables=None, build_docs=False):
    return run.run_raw_checks("test-run", tables, build_docs=build_docs)


def test_clean_data_passes_every_raw_check_and_builds_data_docs(faulted, tmp_path):
    _, loads = faulted([])
    assert all(r.quarantined_rows == 0 for r in loads.values())
    result = _checks(build_docs=True)
    failed = {k: v.description for k, v in result.verdicts.items() if not v.passed}
    assert failed == {}
    assert ("events", "freshness") in result.verdicts and ("events", "volume") in result.verdicts
    assert (gx_runtime.data_docs_dir() / "index.html").exists()
    assert str(gx_runtime.data_docs_dir()).startswith(str(tmp_path))
    # the run's validation results are rendered: one page per suite (one per raw table)
    pages = list((gx_runtime.data_docs_dir() / "validations").rglob("*.html"))
    assert len(pages) == len(TABLES), pages
    # every measure is in the history
    from dagster_project.core.warehouse import connect

    with connect(read_only=True) as con:
        rows = con.execute(
            "SELECT count(*), count(DISTINCT table_name), bool_and(passed) FROM marts.mart_data_quality "
            "WHERE check_name NOT LIKE 'quarantine:%'"
        ).fetchone()
    assert rows[0] == result.history_rows and rows[1] >= len(TABLES) and rows[2] is True


def test_duplicates_block_with_rate_and_keys(faulted):
    report, loads = faulted(["duplicates"])
    n = report["duplicates"]["rows"]
    landed = loads["events"].landed_rows
    v = _checks(EVENT_CHECKS).verdicts[("events", "duplicate_keys")]
    assert not v.passed and v.severity == "block"
    assert v.metadata["column"] == "event_id"
    assert v.metadata["failing_rows"] == n
    assert v.metadata["observed"] == pytest.approx(n / landed)
    assert v.metadata["threshold"] == load_sla().max_duplicate_rate
    assert v.metadata["example_bad_keys"].count("(x2)") == 5
    assert loads["events"].quarantined_rows == 0  # duplicates stay in raw: staging removes them


def test_duplicates_below_the_sla_pass(faulted):
    report, _ = faulted(["duplicates"], rate=0.005)
    v = _checks(EVENT_CHECKS).verdicts[("events", "duplicate_keys")]
    assert v.passed and v.metadata["failing_rows"] == report["duplicates"]["rows"]


def test_null_critical_fields_block_and_are_quarantined(faulted):
    report, loads = faulted(["nulls"])
    n = report["nulls"]["rows"]
    v = _checks(EVENT_CHECKS).verdicts[("events", "completeness")]
    assert not v.passed and v.severity == "block"
    assert (v.metadata["table"], v.metadata["column"], v.metadata["failing_rows"]) == ("raw.events", "occurred_at", n)
    assert v.metadata["observed"] == pytest.approx(1 - n / loads["events"].landed_rows)
    assert v.metadata["example_bad_keys"].startswith("evt_")
    assert loads["events"].by_reason[("null_critical_field", "occurred_at")] == n


def test_orphans_block_and_are_quarantined(faulted):
    report, loads = faulted(["orphans"])
    n = report["orphans"]["rows"]
    v = _checks(EVENT_CHECKS).verdicts[("events", "referential_integrity")]
    assert not v.passed and v.severity == "block"
    assert (v.metadata["column"], v.metadata["failing_rows"]) == ("account_id", n)
    assert v.metadata["observed"] == pytest.approx(1 - n / loads["events"].landed_rows)
    assert "acc_unknown_" in v.metadata["example_bad_keys"]
    assert loads["events"].by_reason == {("unknown_account", "account_id"): n}


def test_few_orphans_pass_but_are_still_quarantined(faulted):
    report, loads = faulted(["orphans"], rate=0.004)
    assert _checks(EVENT_CHECKS).verdicts[("events", "referential_integrity")].passed
    assert loads["events"].quarantined_rows == report["orphans"]["rows"] > 0


# (fault, table, column, reason, the row is kept with the value set to NULL)
VALIDITY_FAULTS = [
    ("future_timestamps", "events", "occurred_at", "future_timestamp", False),
    ("bad_enum", "tickets", "priority", "unknown_enum_value", True),
    ("bad_billing_interval", "subscriptions", "billing_interval", "unparseable_value", True),
    ("negative_amounts", "invoices", "amount_due", "negative_amount", False),
    ("nps_out_of_range", "nps_responses", "score", "out_of_range", False),
]


def test_validity_faults_warn_and_quarantine_or_null(faulted):
    """Each validity fault (on its own table, all in one load) warns with its numbers; a bad required
    value quarantines its row, a bad optional value becomes NULL and its row stays."""
    report, loads = faulted([f for f, *_ in VALIDITY_FAULTS], rate=0.05)
    verdicts = _checks([t for _, t, *_ in VALIDITY_FAULTS]).verdicts
    for fault, table, column, reason, kept in VALIDITY_FAULTS:
        n = report[fault]["rows"]
        assert n > 0, fault
        if kept:
            assert (loads[table].by_reason, loads[table].nulled) == ({}, {(reason, column): n}), fault
        else:
            assert (loads[table].by_reason, loads[table].nulled) == ({(reason, column): n}, {}), fault
        v = verdicts[(table, "validity")]
        assert not v.passed and v.severity == "warn", fault
        assert (v.metadata["column"], v.metadata["failing_rows"]) == (column, n), fault
        assert v.metadata["observed"] == pytest.approx(1 - n / loads[table].landed_rows), fault
    # an invoice taken out of raw changes the account's history: that blocks; nothing else does
    history = verdicts[("invoices", run.STATE_HISTORY_CHECK)]
    assert not history.passed and history.severity == "block"
    assert history.metadata["failing_rows"] == report["negative_amounts"]["rows"]
    assert verdicts[("subscriptions", run.STATE_HISTORY_CHECK)].passed
    blocked = {k for k, v in verdicts.items() if not v.passed and k[1] not in ("validity", "volume")}
    assert blocked == {("invoices", run.STATE_HISTORY_CHECK)}


def test_a_quarantined_subscription_state_blocks_naming_file_table_column_rows_and_fix(faulted, tmp_path):
    report, loads = faulted(["bad_subscription_status"], rate=0.01)
    n = report["bad_subscription_status"]["rows"]
    assert n >= 1 and loads["subscriptions"].by_reason == {("unknown_enum_value", "status"): n}
    v = _checks(["subscriptions"]).verdicts[("subscriptions", run.STATE_HISTORY_CHECK)]
    assert not v.passed and v.severity == "block"
    md = v.metadata
    assert (md["table"], md["column"], md["failing_rows"], md["threshold"]) == ("raw.subscriptions", "status", n, 0)
    assert md["example_bad_keys"].startswith("sub_")
    (landing_file,) = [str(f) for f in (tmp_path / "landing" / "subscriptions").glob("*.parquet")]
    for words in (landing_file, "raw.subscriptions", "unknown_enum_value in status", f"{n} row(s)", "Fix the rows"):
        assert words in v.description, (words, v.description)


def test_orphan_subscriptions_are_left_to_referential_integrity(faulted):
    """A subscription of an unknown account changes no known account's history: no state_history block."""
    from dagster_project.core import clock
    from dagster_project.core.contract import TABLES
    from dagster_project.core.warehouse import connect
    from dagster_project.quality.quarantine import quarantine_table

    faulted([])
    with connect() as con:
        con.execute(
            "UPDATE raw.subscriptions SET account_id = 'acc_unknown_1' "
            "WHERE subscription_id = (SELECT min(subscription_id) FROM raw.subscriptions)"
        )
        result = quarantine_table(con, TABLES["subscriptions"], load_sla(), clock.now())
    assert result.by_reason == {("unknown_account", "account_id"): 1}
    verdicts = _checks(["subscriptions"]).verdicts
    assert verdicts[("subscriptions", run.STATE_HISTORY_CHECK)].passed
    assert verdicts[("subscriptions", "referential_integrity")].metadata["failing_rows"] == 1


@pytest.mark.parametrize("late_days, severity, hours", [(2, "warn", (48, 60)), (4, "block", (96, 108))])
def test_late_events_warn_then_block_on_freshness(faulted, late_days, severity, hours):
    faulted(["late_events"], late_days=late_days)
    v = _checks(EVENT_CHECKS).verdicts[("events", "freshness")]
    assert not v.passed and v.severity == severity
    assert hours[0] < v.metadata["observed"] < hours[1]
    assert v.metadata["column"] == "occurred_at"


def test_missing_day_warns_on_volume(faulted):
    report, _ = faulted(["missing_day"])
    v = _checks(EVENT_CHECKS).verdicts[("events", "volume")]
    assert not v.passed and v.severity == "warn"
    assert v.metadata["observed"] == -1.0
    assert v.metadata["example_bad_keys"] == f"{report['missing_day']['day']} (0 events, -100%)"


@pytest.mark.slow
def test_clean_data_passes_every_raw_check_at_10x_scale(tmp_path, monkeypatch):
    from dagster_project.simulate import SimulationConfig, generate
    from tests.e2e.quality.conftest import SMALL

    landing = tmp_path / "landing"
    generate(SimulationConfig(**{**SMALL, "n_accounts": 10 * SMALL["n_accounts"]}), landing)
    use_warehouse(monkeypatch, tmp_path / "data", landing)
    loads = load_all()
    assert all(r.quarantined_rows == 0 for r in loads.values())
    result = _checks()
    assert {k: v.description for k, v in result.verdicts.items() if not v.passed} == {}


def test_a_duplicated_staging_key_blocks_with_the_key_and_an_empty_model_passes(faulted):
    from dagster_project.core.warehouse import connect
    from dagster_project.quality.suites import STAGING_MODELS

    faulted([])
    with connect() as con:
        con.execute("CREATE SCHEMA staging")
        for table, model in STAGING_MODELS.items():
            con.execute(f"CREATE TABLE staging.{model} AS SELECT * FROM raw.{table}")
        key = con.execute("SELECT min(event_id) FROM staging.stg_product__events").fetchone()[0]
        con.execute("INSERT INTO staging.stg_product__events SELECT * FROM raw.events WHERE event_id = ?", [key])
        con.execute("DELETE FROM staging.stg_feedback__nps_responses")  # a model without rows has no duplicate
    verdicts = run.run_staging_checks("test-run", build_docs=False).verdicts
    keys = verdicts[("stg_product__events", run.STAGING_KEYS_CHECK)]
    assert not keys.passed and keys.severity == "block"
    assert (keys.metadata["column"], keys.metadata["failing_rows"]) == ("event_id", 1)
    assert keys.metadata["example_bad_keys"] == f"{key} (x2)"
    assert not verdicts[("stg_product__events", run.STAGING_RECONCILIATION_CHECK)].passed  # one row too many
    assert verdicts[("stg_feedback__nps_responses", run.STAGING_KEYS_CHECK)].passed
    assert not verdicts[("stg_feedback__nps_responses", run.STAGING_RECONCILIATION_CHECK)].passed  # rows lost
    assert all(
        v.passed
        for (model, _), v in verdicts.items()
        if model not in ("stg_product__events", "stg_feedback__nps_responses")
    )
