"""Baselines: historical churn rate, the "logins dropped 20 %" rule, L2 logistic regression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dagster_project.ml.baselines import (
    HistoricalRate,
    LoginDropRule,
    LogisticBaseline,
    RecencyBaseline,
    default_baselines,
    login_drop_flag,
    purchase_baselines,
)
from dagster_project.ml.evaluate import binary_metrics
from dagster_project.ml.linear import DEFAULT_C

LABEL = "churned_within_90d"


def frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Rows whose churn follows a login drop, low usage and the plan; with NaNs and categoricals."""
    rng = np.random.default_rng(seed)
    ratio = np.exp(rng.normal(0, 0.3, n))
    usage = rng.normal(size=n)
    plan = rng.choice(["starter", "growth", "enterprise"], n)
    logit = -2.5 + 1.5 * (ratio <= 0.8) - 1.0 * usage + 0.8 * (plan == "starter")
    y = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    nps = np.where(rng.random(n) < 0.3, np.nan, 7 - 2 * y + rng.normal(size=n))
    ratio_with_gaps = np.where(rng.random(n) < 0.1, np.nan, ratio)
    return pd.DataFrame(
        {
            "logins_30d_vs_prior_30d": ratio_with_gaps,
            "usage": usage,
            "nps": nps,
            "plan": pd.Series(plan, dtype="object").where(rng.random(n) > 0.05),  # some plans missing
            "region": rng.choice(["emea", "amer"], n),
            LABEL: y,
        }
    )


def test_historical_rate_is_the_training_prevalence():
    train, test = frame(seed=0), frame(seed=1)
    scores = HistoricalRate().fit(train, LABEL)(test)
    assert np.allclose(scores, train[LABEL].mean())
    assert binary_metrics(test[LABEL], scores)["auc"] == pytest.approx(0.5)


def test_historical_rate_per_segment_falls_back_to_overall_rate():
    train = pd.DataFrame({"plan": ["a", "a", "b", "b", None], LABEL: [1, 0, 0, 0, 1]})
    score = HistoricalRate(segment_column="plan").fit(train, LABEL)
    test = pd.DataFrame({"plan": ["a", "b", "new", None]})
    np.testing.assert_allclose(score(test), [0.5, 0.0, 0.4, 0.4])


def test_login_drop_flag_fires_at_20_percent_and_not_on_missing():
    df = pd.DataFrame({"logins_30d_vs_prior_30d": [0.5, 0.8, 0.81, 1.2, np.nan]})
    np.testing.assert_array_equal(login_drop_flag(df), [1, 1, 0, 0, 0])


def test_login_drop_rule_scores_groups_with_their_training_rates():
    train = pd.DataFrame({"logins_30d_vs_prior_30d": [0.5, 0.6, 1.0, 1.0, 1.0, np.nan], LABEL: [1, 0, 0, 0, 1, 0]})
    score = LoginDropRule().fit(train, LABEL)
    np.testing.assert_allclose(score(pd.DataFrame({"logins_30d_vs_prior_30d": [0.1, 2.0, np.nan]})), [0.5, 0.25, 0.25])
    # The recoding is monotone in the rule, so the ranking metrics are the rule's own.
    test = frame(seed=1)
    rule_auc = binary_metrics(test[LABEL], login_drop_flag(test).astype(float))["auc"]
    fitted_auc = binary_metrics(test[LABEL], LoginDropRule().fit(frame(), LABEL)(test))["auc"]
    assert fitted_auc == pytest.approx(rule_auc) and rule_auc > 0.55


def test_login_drop_rule_names_a_missing_ratio_column():
    with pytest.raises(ValueError, match="no column 'logins_ratio'.*login_ratio_column"):
        LoginDropRule(ratio_column="logins_ratio").fit(frame(), LABEL)


def test_logistic_baseline_handles_categoricals_nans_and_unseen_levels():
    features = ["logins_30d_vs_prior_30d", "usage", "nps", "plan", "region"]
    train, test = frame(seed=0), frame(seed=1)
    score = LogisticBaseline(features).fit(train, LABEL)
    test.loc[test.index[:20], "plan"] = "brand_new_plan"  # unseen at training time
    test.loc[test.index[20:40], "usage"] = np.nan
    p = score(test)
    assert p.shape == (len(test),) and np.isfinite(p).all() and ((p > 0) & (p < 1)).all()
    assert binary_metrics(test[LABEL], p)["auc"] > 0.7
    # An all-missing numeric column in training does not break the fit.
    train["empty"] = np.nan
    test["empty"] = np.nan
    assert np.isfinite(LogisticBaseline([*features, "empty"]).fit(train, LABEL)(test)).all()


def test_logistic_penalty_is_tuned_on_the_validation_rows():
    features = ["logins_30d_vs_prior_30d", "usage", "nps", "plan", "region"]
    train, validation = frame(seed=0), frame(seed=2)
    # Pure-noise extra features make a weak penalty overfit; the validation log loss notices.
    rng = np.random.default_rng(5)
    noise = [f"noise_{i}" for i in range(40)]
    for data in (train, validation):
        data[noise] = rng.normal(size=(len(data), len(noise)))
    tuned = LogisticBaseline([*features, *noise], Cs=(100.0, 0.01)).fit(train.head(300), LABEL, validation)
    assert tuned.params == {"C": 0.01}
    fixed = LogisticBaseline(features, C=0.5).fit(train, LABEL, validation)
    assert fixed.params == {"C": 0.5}
    assert LogisticBaseline(features).fit(train, LABEL).params == {"C": DEFAULT_C}


def test_logistic_baseline_refuses_censored_or_single_class_training_rows():
    train = frame()
    censored = train.astype({LABEL: "Float64"})
    censored.loc[censored.index[0], LABEL] = pd.NA
    with pytest.raises(ValueError, match="labelled rows only"):
        LogisticBaseline(["usage"]).fit(censored, LABEL)
    with pytest.raises(ValueError, match="both classes"):
        LogisticBaseline(["usage"]).fit(train.assign(**{LABEL: 0}), LABEL)


def test_default_baselines_are_the_three_spec_baselines():
    names = [b.name for b in default_baselines(["usage"])]
    assert names == ["historical_churn_rate", "logins_dropped_20pct", "logistic_regression"]


def test_recency_ranks_by_days_since_the_last_activity():
    rng = np.random.default_rng(4)
    days = rng.exponential(20, 3000)
    y = rng.binomial(1, 1 / (1 + np.exp(3 - days / 15)))
    train = pd.DataFrame({"days_since_last_activity": days, LABEL: y})
    test = train.sample(frac=1.0, random_state=1).reset_index(drop=True)
    test.loc[:9, "days_since_last_activity"] = np.nan  # never active: the training rate
    scores = RecencyBaseline().fit(train, LABEL)(test)
    assert (np.diff(scores[10:][np.argsort(test["days_since_last_activity"].to_numpy()[10:])]) >= 0).all()
    assert np.allclose(scores[:10], train[LABEL].mean())
    assert binary_metrics(test[LABEL][10:], scores[10:])["auc"] > 0.75


def test_purchase_baselines_need_their_columns():
    assert purchase_baselines(["logins_30d"], 90) == []
    specs = purchase_baselines(["days_since_last_activity", "active_days_365d", "tenure_days", "plan"], 90)
    assert [s.name for s in specs] == ["recency", "bg_nbd"]
    assert specs[1].age_cap_days == 365 and specs[1].horizon_days == 90


def test_bg_nbd_on_a_window_of_active_days_reads_a_single_day_as_the_first():
    spec = purchase_baselines(["days_since_last_activity", "active_days_365d", "tenure_days"], 90)[1]
    rows = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "as_of_date": pd.to_datetime(["2026-01-04"] * 4),
            "active_days_365d": [1, 5, 0, 40],
            "days_since_last_activity": [200, 3, 400, 1],
            "tenure_days": [800, 900, 800, 90],
        }
    )
    has, x, t_x, age = spec._history(rows)
    assert has.tolist() == [True, True, False, True]
    np.testing.assert_allclose(x[has], [0, 4, 39])
    np.testing.assert_allclose(t_x[has], [0, 362, 89])
    np.testing.assert_allclose(age[has], [200, 365, 90])
