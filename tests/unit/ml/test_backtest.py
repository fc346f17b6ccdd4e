"""Walk-forward backtest on a small synthetic snapshot frame with a planted, non-linear churn signal.

The frame mimics `marts.ml_account_snapshots`: accounts x weekly dates, a latent health per account
that drifts, features that follow it, churn labels drawn from it, an `oracle` column holding the
true probability, and NULL labels for the last horizon (censored). The churn risk is a threshold
effect of health plus a non-monotone interaction with the renewal date, so a tree model can beat the
logistic baseline; a 28-day horizon keeps the history (and the test) short.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dagster_project.health.lead_time import lead_times, median_of_flagged, out_of_sample_history
from dagster_project.ml.backtest import (
    DEFAULT_BACKTEST,
    MODEL_NAME,
    ORACLE_NAME,
    SPEC_TARGETS,
    BacktestSpec,
    check_targets,
    walk_forward_backtest,
)
from dagster_project.ml.baselines import HistoricalRate, LoginDropRule
from dagster_project.ml.split import SplitSpec
from dagster_project.ml.train import TrainSpec

LABEL = "churned_within_28d"
HORIZON = 28
FEATURES = [
    "seat_utilization_30d",
    "logins_30d",
    "logins_30d_vs_prior_30d",
    "open_tickets",
    "nps_latest",
    "days_to_renewal",
    "plan",
    "region",
]
FAMILIES = {
    "seat_utilization_30d": "usage",
    "logins_30d": "usage",
    "logins_30d_vs_prior_30d": "trend",
    "open_tickets": "support",
    "nps_latest": "sentiment",
    "days_to_renewal": "billing",
    "plan": "billing",
    "region": "firmographic",
}
# Small folds: 6 train + 6 calibration weeks, 28-day gaps (3 skipped weeks) before calibration and
# before test, 4 test weeks. One LightGBM thread: on a busy 2-core machine OpenMP threads wait on
# each other and run slower.
SMALL_SPLIT = SplitSpec(calibration_weeks=6, min_train_weeks=6, calibration_gap_days=HORIZON)
SMALL = {"training": TrainSpec(params={"num_threads": 1}, num_boost_round=150)}
# For tests about the fold mechanics, not model quality.
QUICK = {"training": TrainSpec(params={"num_threads": 1}, num_boost_round=20)}


def folds(n_origins: int = 5, step_weeks: int | None = None, split: SplitSpec = SMALL_SPLIT) -> BacktestSpec:
    return BacktestSpec(n_origins=n_origins, step_weeks=step_weeks, split=split)


def backtest_weeks_needed(step_weeks: int, split: SplitSpec = SMALL_SPLIT) -> int:
    return folds(split=split).weeks_needed(HORIZON, step_weeks)


def largest_step_weeks(n_dates: int) -> int | None:
    return folds().largest_step(n_dates, HORIZON)


def make_snapshots(n_accounts: int = 400, n_weeks: int = 60, seed: int = 0, horizon: int = HORIZON) -> pd.DataFrame:
    """Synthetic snapshots with a planted non-linear churn signal and censored recent labels."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=n_weeks, freq="7D")  # Sundays, like the mart
    ar = np.zeros((n_accounts, n_weeks))
    for t in range(1, n_weeks):
        ar[:, t] = 0.8 * ar[:, t - 1] + 0.45 * rng.normal(size=n_accounts)
    health2d = rng.normal(size=n_accounts)[:, None] + ar
    drop2d = health2d - np.concatenate([health2d[:, :4], health2d[:, :-4]], axis=1)  # 4-week change
    health, drop = health2d.ravel(), drop2d.ravel()
    n = health.size
    plan = rng.choice(["starter", "growth", "enterprise"], size=n_accounts)[:, None].repeat(n_weeks, 1).ravel()
    renewal = rng.integers(0, 365, size=n)

    # Thresholds + a non-monotone interaction (a linear model cannot draw either): risk jumps when
    # health is low, and for unhealthy accounts in the renewal negotiation window 120-200 days out.
    in_window = (renewal >= 120) & (renewal < 200)
    logit = -4.0 + 2.2 * (health < -0.8) + 1.6 * (health < -1.8) + 2.0 * (in_window & (health < 0))
    logit += 0.4 * (plan == "starter")
    p = 1 / (1 + np.exp(-logit))
    churned = rng.binomial(1, p)
    nps = np.clip(np.round(7 + 1.5 * health + rng.normal(size=n)), 0, 10)
    nps[rng.random(n) < 0.3] = np.nan  # most accounts never answered a survey

    frame = pd.DataFrame(
        {
            "account_id": np.repeat([f"acc_{i:04d}" for i in range(n_accounts)], n_weeks),
            "as_of_date": np.tile(dates, n_accounts),
            "seat_utilization_30d": 1 / (1 + np.exp(-(health + 0.5 * rng.normal(size=n)))),
            "logins_30d": rng.poisson(np.exp(3 + 0.5 * health)),
            "logins_30d_vs_prior_30d": np.exp(0.15 * rng.normal(size=n) + 0.5 * drop),
            "open_tickets": rng.poisson(np.exp(0.3 - 0.6 * health)),
            "nps_latest": nps,
            "days_to_renewal": renewal,
            "plan": plan,
            "region": rng.choice(["emea", "amer", "apac"], size=n),
            LABEL: pd.array(churned, dtype="Int64"),
            "oracle": p,
        }
    )
    frame.loc[frame["as_of_date"] > dates[-1] - pd.Timedelta(days=horizon), LABEL] = pd.NA
    return frame


@pytest.fixture(scope="module")
def snapshots() -> pd.DataFrame:
    return make_snapshots()


@pytest.fixture(scope="module")
def result(snapshots):
    return walk_forward_backtest(
        snapshots,
        FEATURES,
        LABEL,
        HORIZON,
        folds(5, 4),
        feature_families=FAMILIES,
        oracle_column="oracle",
        **SMALL,
    )


# --- fold layout ------------------------------------------------------------------------------


def test_at_least_five_origins_oldest_first_without_overlap(result):
    assert len(result.folds) == 5
    origins = [f.origin_date for f in result.folds]
    assert origins == sorted(origins)
    assert all((b - a).days == 28 for a, b in zip(origins, origins[1:], strict=False))
    for fold in result.folds:
        dates = pd.to_datetime(fold.predictions["as_of_date"])
        assert dates.min() == fold.origin_date and dates.max() == fold.test_end_date
        assert dates.nunique() == 4
    # Test windows tile the end of the labelled history: the last one ends at the newest label.
    assert result.folds[-1].test_end_date == pd.Timestamp("2023-01-01") + pd.Timedelta(weeks=60 - 1 - 4)


def test_no_training_or_calibration_label_window_crosses_the_origin(result, snapshots):
    for fold in result.folds:
        assert fold.calibration_end_date + pd.Timedelta(days=HORIZON) <= fold.origin_date
        assert fold.train_end_date + pd.Timedelta(days=HORIZON) <= fold.calibration_start_date
        assert fold.label_window_end_date <= fold.origin_date
        # The model's own record of its windows agrees: nothing it saw is newer than the cut.
        windows = fold.model.metadata["windows"]
        assert pd.Timestamp(windows["calibration"]["last_as_of_date"]) == fold.calibration_end_date
        assert pd.Timestamp(windows["test"]["first_as_of_date"]) == fold.origin_date


def test_training_windows_expand(result):
    starts = {f.train_start_date for f in result.folds}
    assert len(starts) == 1  # every fold trains from the first labelled week
    ends = [f.train_end_date for f in result.folds]
    assert ends == sorted(ends) and ends[0] < ends[-1]


def test_test_rows_are_labelled_only(result):
    preds = result.predictions()
    assert preds["y"].isin([0, 1]).all()
    assert not preds.duplicated(["account_id", "as_of_date"]).any()  # each test row judged once


def test_too_short_history_raises_with_needed_and_available():
    short = make_snapshots(n_accounts=50, n_weeks=40)
    needed = backtest_weeks_needed(4)
    with pytest.raises(ValueError, match=rf"need {needed} weekly as_of_dates .* found 36 "):
        walk_forward_backtest(short, FEATURES, LABEL, HORIZON, folds(5, 4), **QUICK)


def test_default_horizon_needs_a_long_history():
    # 90-day horizon, defaults: 8 train + 8 calibration + 4 test + 12 gap weeks before the test
    # (none before calibration) + 4 x 4 steps.
    assert DEFAULT_BACKTEST.weeks_needed(90, 4) == 48
    df = make_snapshots(n_accounts=30, n_weeks=58, horizon=90).rename(columns={LABEL: "churned_within_90d"})
    with pytest.raises(ValueError, match="need 48 weekly as_of_dates .* found 45 .*A step of 3 week"):
        walk_forward_backtest(df, FEATURES, "churned_within_90d", 90, BacktestSpec(step_weeks=4))


def test_step_none_picks_the_largest_step_that_fits():
    # 6 train + 4 skipped + 6 calibration + 3 skipped weeks before the first origin, then 5 test
    # windows of `step` weeks.
    assert [backtest_weeks_needed(s) for s in (1, 2, 3, 4)] == [24, 29, 34, 39]
    assert largest_step_weeks(36) == 3
    assert largest_step_weeks(22) is None
    df = make_snapshots(n_accounts=120, n_weeks=44)
    df["as_of_date"] = df["as_of_date"].dt.date  # DuckDB DATE columns can arrive as datetime.date
    res = walk_forward_backtest(df, FEATURES, LABEL, HORIZON, folds(), **QUICK)
    assert res.settings["step_weeks"] == largest_step_weeks(40)
    assert len(res.folds) == 5


def test_a_shorter_calibration_gap_still_respects_the_origin_gap():
    df = make_snapshots(n_accounts=120, n_weeks=40)
    seven = SplitSpec(calibration_weeks=6, min_train_weeks=6, calibration_gap_days=7)
    res = walk_forward_backtest(df, FEATURES, LABEL, HORIZON, folds(split=seven), **QUICK)
    for fold in res.folds:
        assert fold.label_window_end_date <= fold.origin_date
        assert fold.train_end_date < fold.calibration_start_date - pd.Timedelta(days=7)
    # The shorter gap leaves room for longer steps than the default gap would.
    assert res.settings["step_weeks"] > (largest_step_weeks(36) or 0)


# --- metrics ----------------------------------------------------------------------------------


def test_to_frame_has_one_row_per_model_and_fold(result):
    frame = result.to_frame()
    expected_models = [MODEL_NAME, "historical_churn_rate", "logins_dropped_20pct", "logistic_regression", ORACLE_NAME]
    assert frame["model_name"].unique().tolist() == expected_models
    assert len(frame) == 5 * len(expected_models)
    assert not frame.duplicated(["model_name", "fold"]).any()
    metrics = ("auc", "pr_auc", "precision_at_k", "lift_top_decile", "brier", "ece", "n", "positives")
    assert set(metrics) | {"origin_date", "test_end_date", "model_kind"} <= set(frame.columns)
    assert frame.loc[frame["model_name"] == MODEL_NAME, "model_version"].notna().all()


def test_model_beats_every_baseline_on_the_planted_signal(result):
    summary = result.summary()
    model = summary.loc[MODEL_NAME]
    assert model["auc"] > 0.75
    for baseline in result.baseline_names:
        assert model[f"beats_{baseline}_auc"] and model[f"beats_{baseline}_pr_auc"], baseline
    # A constant score cannot rank (its "top decile" is just the first rows in input order).
    assert summary.loc["historical_churn_rate", "auc"] == pytest.approx(0.5)
    # The oracle knows the true probability: nobody ranks better on average.
    assert summary.loc[ORACLE_NAME, "auc"] >= model["auc"] - 0.01
    assert 0.8 < model["auc_share_of_oracle"] <= 1.02


def test_model_probabilities_are_calibrated(result):
    assert result.summary().loc[MODEL_NAME, "ece"] < 0.05


def test_feature_importance_ranks_the_planted_features(result):
    importance = result.feature_importance()
    assert set(importance.index) == set(FEATURES)
    assert importance.index[0] in {"seat_utilization_30d", "logins_30d", "nps_latest", "open_tickets"}


def test_custom_baselines_and_no_oracle():
    res = walk_forward_backtest(
        make_snapshots(n_accounts=200, n_weeks=44),
        FEATURES,
        LABEL,
        HORIZON,
        folds(5, 2),
        baselines=[HistoricalRate(segment_column="plan", name="rate_by_plan"), LoginDropRule()],
        **QUICK,
    )
    summary = res.summary()
    assert summary.index.tolist() == [MODEL_NAME, "rate_by_plan", "logins_dropped_20pct"]
    assert "auc_share_of_oracle" not in summary.columns
    # The per-plan rate ranks a little (starter accounts churn more), unlike a constant.
    assert summary.loc["rate_by_plan", "auc"] > 0.5


def test_duplicate_baseline_names_raise(snapshots):
    with pytest.raises(ValueError, match="unique"):
        walk_forward_backtest(
            snapshots, FEATURES, LABEL, HORIZON, folds(), baselines=[HistoricalRate(), HistoricalRate()], **QUICK
        )


# --- targets ----------------------------------------------------------------------------------


def test_check_targets_lists_every_spec_target(result):
    checks = check_targets(result.summary(), lead_time=35.0).set_index("target")
    assert checks.loc["AUC", "passed"] == (result.summary().loc[MODEL_NAME, "auc"] >= SPEC_TARGETS["auc_min"])
    assert checks.loc["median lead time, first red to churn (days)", "passed"]
    assert "beats logistic_regression on AUC" in checks.index
    assert "beats logins_dropped_20pct on PR-AUC" in checks.index
    no_lead = check_targets(result.summary()).set_index("target")
    assert no_lead.loc["median lead time, first red to churn (days)", "passed"] is None


# --- out-of-sample history and lead time ------------------------------------------------------


def test_out_of_sample_history_uses_only_models_from_the_past(result, snapshots):
    history = out_of_sample_history(result, snapshots)
    origins = {f.fold: f.origin_date for f in result.folds}
    assert (history["as_of_date"] >= history["fold"].map(origins)).all()
    assert history["as_of_date"].min() == result.folds[0].origin_date
    # Censored rows are scored too: the history reaches the newest snapshot.
    assert history["as_of_date"].max() == pd.to_datetime(snapshots["as_of_date"]).max()
    assert set(history["health_band"]) <= {"red", "yellow", "green"}


def test_lead_time_on_a_hand_built_history():
    weeks = pd.date_range("2024-01-07", periods=20, freq="7D")
    bands = {
        # red 5 and 4 weeks before churning on 2024-04-14 (week 14), green before and in between
        "a": ["green"] * 9 + ["red", "red", "yellow", "red", "red"] + ["green"] * 6,
        # never red: churn not flagged
        "b": ["yellow"] * 20,
        # red long before (outside the 90-day look-back) and 2 weeks before its churn
        "c": ["red"] + ["green"] * 14 + ["red", "red"] + ["green"] * 3,
        # never churns: not counted even though red
        "d": ["red"] * 20,
    }
    history = pd.DataFrame(
        [(acc, date, band) for acc, seq in bands.items() for date, band in zip(weeks, seq, strict=True)],
        columns=["account_id", "as_of_date", "health_band"],
    )
    churns = pd.DataFrame(
        {
            "account_id": ["a", "b", "c"],
            "churn_date": pd.to_datetime(["2024-04-14", "2024-04-10", "2024-05-05"]),
        }
    )
    times = lead_times(history, churns).set_index("account_id")
    assert times.loc["a", "first_red_date"] == pd.Timestamp("2024-03-10")
    assert times.loc["a", "lead_time_days"] == 35
    assert math.isnan(times.loc["b", "lead_time_days"])
    assert times.loc["c", "lead_time_days"] == 14  # the red of January is not a warning of May
    assert "d" not in times.index
    assert median_of_flagged(lead_times(history, churns)) == pytest.approx(24.5)  # median of 35 and 14
    # A churn whose look-back starts before the history is left out (its first red may be earlier).
    early = pd.DataFrame({"account_id": ["d"], "churn_date": [pd.Timestamp("2024-02-01")]})
    assert lead_times(history, early).empty
    assert lead_times(history, early, require_full_lookback=False).loc[0, "lead_time_days"] == 25
    assert math.isnan(median_of_flagged(lead_times(history, churns[churns["account_id"] == "b"])))


def test_lead_time_names_missing_columns():
    with pytest.raises(ValueError, match="scored history has no column 'health_band'"):
        lead_times(
            pd.DataFrame({"account_id": [], "as_of_date": []}), pd.DataFrame({"account_id": [], "churn_date": []})
        )
