"""Companies the project did not shape: every simulator shape at 6, 12 and 18 months of history.

For every pair, `full_refresh` must succeed and publish every mart, whatever the company lacks:
no subscriptions means no expansion model (its mart is published empty), and a history too short
for a backtest gets provisional scores, flagged in `mart_account_health.model_kind`.

Two pairs run with the suite (the shortest purchase history, a usage product of a year); the
whole matrix is slow (AHW_SLOW_TESTS=1) and its numbers are in docs/models.md.
"""

from __future__ import annotations

import itertools

import duckdb
import pytest

from dagster_project.serve import publish
from dagster_project.simulate import SimulationConfig, generate
from dagster_project.simulate.shapes import SHAPES
from tests.e2e.finished_run import END_DATE, Company, run_job, use_company

HISTORIES = (6, 12, 18)
IN_SUITE = {("purchases", 6), ("accounts_events", 12)}
# What the pipeline counts as churn for each shape (the simulator's oracle predicts that label).
QUALIFYING_EVENTS = {"purchases": "order_placed"}
# The marts every company gets, whatever its sources.
MARTS = (
    "mart_account_health",
    "mart_account_health_history",
    "mart_health_alerts",
    "mart_expansion_opportunities",
    "mart_segments",
    "mart_business_kpis",
    "mart_model_performance",
    "mart_alert_outcomes",
    "mart_playbook_outcomes",
    "mart_alert_rule_precision",
    "mart_cs_operations",
    "mart_roi",
)


def _pairs():
    for shape, months in itertools.product(SHAPES, HISTORIES):
        marks = [] if (shape, months) in IN_SUITE else [pytest.mark.slow]
        yield pytest.param(shape, months, marks=marks, id=f"{shape}-{months}m")


@pytest.mark.parametrize(("shape", "months"), list(_pairs()))
def test_full_refresh_publishes_every_mart(shape, months, tmp_path, monkeypatch):
    company = Company(tmp_path / "data")
    generate(
        SimulationConfig(n_accounts=120, months=months, seed=11, end_date=END_DATE, shape=shape),
        company.landing,
    )
    with use_company(company):
        monkeypatch.setenv("AHW_CHURN_DEFINITION", SHAPES[shape].churn_definition)
        if shape in QUALIFYING_EVENTS:
            monkeypatch.setenv("AHW_QUALIFYING_EVENTS", QUALIFYING_EVENTS[shape])
        result = run_job("full_refresh")
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert result.success, f"{shape}, {months} months: full_refresh failed in {failed}"

    current = publish.current_dir(company.publish_dir)
    published = {p.stem for p in (current / publish.PARQUET_DIR).iterdir()}
    assert set(MARTS) <= published, f"not published: {sorted(set(MARTS) - published)}"

    with duckdb.connect(str(company.warehouse), read_only=True) as con:
        health = con.sql("SELECT model_kind, churn_probability FROM marts.mart_account_health").df()
        opportunities = con.execute("SELECT count(*) FROM marts.mart_expansion_opportunities").fetchone()[0]
        labelled_weeks = con.execute(
            "SELECT count(DISTINCT as_of_date) FROM marts.ml_account_snapshots WHERE churned_within_90d IS NOT NULL"
        ).fetchone()[0]
    assert len(health) > 0
    assert health["churn_probability"].between(0, 1, inclusive="neither").all()
    kinds = set(health["model_kind"])
    assert len(kinds) == 1
    # 6 months leave ~13 labelled weeks: too few for any backtest; 12 months or more are backtested.
    expected = "provisional" if months == 6 else "backtested"
    assert kinds == {expected}, f"{labelled_weeks} labelled weeks gave {kinds}"
    if "subscriptions" not in SHAPES[shape].tables:
        assert opportunities == 0  # no subscriptions, no expansion label: published empty
