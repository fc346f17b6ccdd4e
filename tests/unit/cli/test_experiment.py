"""`ahw experiment`: the warehouse's estimator on a simulated company's episodes, against the truth."""

import math

from dagster_project.cli import experiment


def test_one_company_compares_the_interval_with_the_true_effect():
    with_effect = experiment.one_company(seed=3, accounts=120, months=8, effect=2.0, horizon_days=90)
    without = experiment.one_company(seed=3, accounts=120, months=8, effect=0.0, horizon_days=90)
    for row in (with_effect, without):
        assert row["episodes_playbook"] > 0 and row["episodes_holdout"] > 0
        assert row["low"] <= row["difference"] <= row["high"]
        assert row["covered"] == (row["low"] <= row["true_effect"] <= row["high"])
    # the truth: playbooks lower churn when they have an effect, and do nothing without
    assert with_effect["true_effect"] < 0
    assert math.isclose(without["true_effect"], 0.0, abs_tol=1e-12)
    assert without["covers_zero"] == without["covered"]
