"""Training, calibration, explanations, scoring and artifacts on a small synthetic snapshot frame.

The frame mimics `marts.ml_account_snapshots`: 300 accounts x 80 weekly dates, a latent health per
account that drifts, features that follow it, churn labels drawn from it (the planted signal), and
NULL labels for the last 90 days (censored).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from dagster_project.health.drivers import feature_label, top_drivers
from dagster_project.health.score import score_accounts
from dagster_project.ml.artifacts import champion_version, load_model, promote_model, save_model
from dagster_project.ml.dataset import latest_snapshot, prepare_matrix
from dagster_project.ml.evaluate import binary_metrics
from dagster_project.ml.explain import BIAS_COLUMN, contributions, family_subscores
from dagster_project.ml.split import time_split
from dagster_project.ml.train import (
    DEFAULT_GRID,
    DEFAULT_PARAMS,
    PLATT_WEIGHT,
    IsotonicCalibrator,
    TrainSpec,
    predict_proba,
    predict_raw,
    train_churn_model,
)

LABEL = "churned_within_90d"
HORIZON = 90
FAMILIES = {
    "logins_30d": "usage",
    "seat_utilization_30d": "usage",
    "logins_30d_vs_prior_30d": "trend",
    "integrations_connected": "adoption",
    "open_tickets": "support",
    "nps_latest": "sentiment",
    "mrr": "billing",
    "days_to_renewal": "billing",
    "plan": "billing",
    "region": "firmographic",
}
FEATURES = list(FAMILIES)


def make_snapshots(n_accounts: int = 300, n_weeks: int = 80, signal: bool = True, seed: int = 0) -> pd.DataFrame:
    """Synthetic snapshots with a planted churn signal (or pure-noise labels when signal=False)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-02", periods=n_weeks, freq="7D")
    ar = np.zeros((n_accounts, n_weeks))
    for t in range(1, n_weeks):
        ar[:, t] = 0.85 * ar[:, t - 1] + 0.35 * rng.normal(size=n_accounts)
    health = (rng.normal(size=n_accounts)[:, None] + ar).ravel()
    n = health.size
    plan = rng.choice(["starter", "growth", "enterprise"], size=n_accounts)[:, None].repeat(n_weeks, 1).ravel()

    logins = rng.poisson(np.exp(3 + 0.5 * health))
    nps = np.clip(np.round(7 + 1.5 * health + rng.normal(size=n)), 0, 10)
    nps[rng.random(n) < 0.3] = np.nan  # most accounts never answered a survey
    logit = -3.0 - 1.4 * health + 0.5 * (plan == "starter")
    p = 1 / (1 + np.exp(-logit))
    churned = rng.binomial(1, p) if signal else rng.binomial(1, p.mean(), size=n)

    frame = pd.DataFrame(
        {
            "account_id": np.repeat([f"acc_{i:04d}" for i in range(n_accounts)], n_weeks),
            "as_of_date": np.tile(dates, n_accounts),
            "logins_30d": logins,
            "seat_utilization_30d": np.clip(1 / (1 + np.exp(-(health + 0.5 * rng.normal(size=n)))), 0, 1),
            "logins_30d_vs_prior_30d": np.exp(0.3 * rng.normal(size=n) + 0.2 * health),
            "integrations_connected": rng.poisson(np.exp(0.5 + 0.3 * health)),
            "open_tickets": rng.poisson(np.exp(0.3 - 0.6 * health)),
            "nps_latest": nps,
            "mrr": np.round(rng.lognormal(6, 1, size=n), 2),
            "days_to_renewal": rng.integers(0, 365, size=n),
            "plan": plan,
            "region": rng.choice(["emea", "amer", "apac"], size=n),
            LABEL: pd.array(churned, dtype="Int64"),
            "expanded_within_90d": pd.array(rng.binomial(1, 0.05, size=n), dtype="Int64"),
        }
    )
    censored = frame["as_of_date"] > dates[-1] - pd.Timedelta(days=HORIZON)
    frame.loc[censored, [LABEL, "expanded_within_90d"]] = pd.NA
    return frame


@pytest.fixture(scope="module")
def snapshots() -> pd.DataFrame:
    return make_snapshots()


@pytest.fixture(scope="module")
def model(snapshots):
    return train_churn_model(snapshots, FEATURES, LABEL, HORIZON, feature_families=FAMILIES)


@pytest.fixture(scope="module")
def test_period(snapshots) -> pd.DataFrame:
    return time_split(snapshots, LABEL, HORIZON).test


# --- training -------------------------------------------------------------------------------


def test_planted_signal_is_learned(model, snapshots, test_period):
    assert model.metadata["metrics"]["auc"] > 0.7
    auc = binary_metrics(test_period[LABEL], predict_proba(model, test_period))["auc"]
    assert auc == pytest.approx(model.metadata["metrics"]["auc"])


def test_pure_noise_labels_give_chance_auc():
    noisy = train_churn_model(make_snapshots(signal=False, seed=1), FEATURES, LABEL, HORIZON)
    assert noisy.metadata["metrics"]["auc"] < 0.65


def test_training_is_deterministic(model, snapshots):
    again = train_churn_model(snapshots, FEATURES, LABEL, HORIZON, feature_families=FAMILIES)
    current = latest_snapshot(snapshots)
    np.testing.assert_array_equal(predict_proba(model, current), predict_proba(again, current))
    assert again.metadata["data_fingerprint"] == model.metadata["data_fingerprint"]


def test_the_version_tells_two_models_of_one_second_apart(snapshots):
    at = datetime(2026, 11, 23, 5, tzinfo=UTC)
    same = [train_churn_model(snapshots, FEATURES, LABEL, HORIZON, trained_at=at) for _ in range(2)]
    other = train_churn_model(
        snapshots, FEATURES, LABEL, HORIZON, training=TrainSpec(params={"min_data_in_leaf": 50}), trained_at=at
    )
    assert same[0].version == same[1].version  # the same data and settings: the same model
    assert other.version != same[0].version  # other settings on the same data: another model
    assert other.metadata["data_fingerprint"] == same[0].metadata["data_fingerprint"]


def test_metadata_describes_the_model(model, snapshots):
    meta = model.metadata
    assert re.fullmatch(r"churn-\d{8}T\d{6}-[0-9a-f]{8}", meta["version"])
    assert meta["features"] == FEATURES
    assert meta["categorical_features"] == ["plan", "region"]
    assert set(meta["windows"]) == {"train", "calibration", "test"}
    train_window = meta["windows"]["train"]
    assert train_window["positives"] / train_window["n_rows"] == pytest.approx(meta["base_rate"])
    assert {"auc", "pr_auc", "brier", "ece", "lift_top_decile", "precision_at_k", "n", "positives"} <= set(
        meta["metrics"]
    )
    assert meta["params"]["num_leaves"] == DEFAULT_PARAMS["num_leaves"] and meta["lightgbm_version"]
    # The fingerprint follows the data: change one label, get a new fingerprint.
    changed = snapshots.copy()
    changed.loc[changed[LABEL].notna().idxmax(), LABEL] = 1 - changed[LABEL].dropna().iloc[0]
    other = train_churn_model(changed, FEATURES, LABEL, HORIZON)
    assert other.metadata["data_fingerprint"] != meta["data_fingerprint"]


def test_expansion_label_gets_its_own_version_prefix(snapshots):
    expansion = train_churn_model(snapshots, FEATURES, "expanded_within_90d", HORIZON)
    assert expansion.version.startswith("expansion-")


# --- calibration ----------------------------------------------------------------------------


def test_calibrated_probabilities_are_strictly_monotone_in_raw_score(model, snapshots):
    raw = predict_raw(model, snapshots)
    calibrated = predict_proba(model, snapshots)
    assert ((calibrated > 0) & (calibrated < 1)).all()  # never exactly 0 or 1
    order = np.argsort(raw, kind="stable")
    steps, raw_steps = np.diff(calibrated[order]), np.diff(raw[order])
    assert (steps[raw_steps > 0] > 0).all()  # distinct raw scores keep distinct probabilities
    assert (steps[raw_steps == 0] == 0).all()


def test_calibration_does_not_worsen_ece_on_test(model):
    assert model.metadata["metrics"]["ece"] <= model.metadata["metrics_raw"]["ece"] + 0.02


def test_calibration_keeps_the_ranking(model):
    # Centred isotonic interpolates between blocks instead of tying them, so ranking metrics survive.
    assert model.metadata["metrics"]["auc"] == pytest.approx(model.metadata["metrics_raw"]["auc"], abs=0.005)


def test_centred_isotonic_on_a_tiny_example():
    # PAVA gives 0 | 0.5, 0.5 | 1; the middle block's knot sits at its centroid 0.25.
    raw, y = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 1, 0, 1])
    plain = IsotonicCalibrator.fit(raw, y, weight=0.0)
    np.testing.assert_allclose(plain.x, [0.1, 0.25, 0.4])
    np.testing.assert_allclose(plain.y, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(plain(np.array([0.0, 0.2, 0.25, 0.3, 0.9])), [0.0, 1 / 3, 0.5, 2 / 3, 1.0])
    smoothed = IsotonicCalibrator.fit(raw, y)
    probe = np.array([0.0, 0.01, 0.05, 0.2, 0.25, 0.3, 0.9, 0.99, 1.0])
    out = smoothed(probe)
    assert ((out > 0) & (out < 1)).all() and (np.diff(out) > 0).all()  # flat ends are gone
    np.testing.assert_allclose(out, plain(probe), atol=PLATT_WEIGHT)  # and the isotonic fit still leads
    restored = IsotonicCalibrator.from_dict(json.loads(json.dumps(smoothed.to_dict())))
    np.testing.assert_array_equal(restored(probe), out)


def test_platt_part_follows_the_outcome_rate():
    rng = np.random.default_rng(3)
    raw = rng.uniform(0.01, 0.99, 5000)
    y = rng.binomial(1, raw)  # raw is already calibrated: the Platt map is close to the identity
    intercept, slope = IsotonicCalibrator.fit(raw, y).platt
    assert abs(intercept) < 0.15 and abs(slope - 1) < 0.1


def test_a_saved_plain_isotonic_calibrator_still_loads():
    old = {"method": "centred_isotonic", "x": [0.1, 0.4], "y": [0.0, 1.0]}
    np.testing.assert_allclose(IsotonicCalibrator.from_dict(old)(np.array([0.0, 0.25, 1.0])), [0.0, 0.5, 1.0])


# --- failure cases --------------------------------------------------------------------------


def test_missing_feature_column_is_named(snapshots):
    with pytest.raises(ValueError, match="ml_account_snapshots has no column 'logins_90d'"):
        train_churn_model(snapshots, [*FEATURES, "logins_90d"], LABEL, HORIZON)


def test_no_positive_labels_raises(snapshots):
    no_churn = snapshots.copy()
    no_churn[LABEL] = no_churn[LABEL].where(no_churn[LABEL].isna(), 0)
    with pytest.raises(ValueError, match="no positive"):
        train_churn_model(no_churn, FEATURES, LABEL, HORIZON)


def test_all_labels_censored_raises(snapshots):
    censored = snapshots.copy()
    censored[LABEL] = pd.array([pd.NA] * len(censored), dtype="Int64")
    with pytest.raises(ValueError, match="censored"):
        train_churn_model(censored, FEATURES, LABEL, HORIZON)


def test_missing_label_column_raises(snapshots):
    with pytest.raises(ValueError, match="no column 'churned_within_30d'"):
        train_churn_model(snapshots, FEATURES, "churned_within_30d", 30)


# --- explanations ---------------------------------------------------------------------------


def test_contributions_sum_to_raw_log_odds(model, test_period):
    contrib = contributions(model, test_period, include_bias=True)
    assert list(contrib.columns) == [*FEATURES, BIAS_COLUMN]
    raw = predict_raw(model, test_period)
    np.testing.assert_allclose(contrib.sum(axis=1), np.log(raw / (1 - raw)), atol=1e-9)
    assert BIAS_COLUMN not in contributions(model, test_period).columns


def test_top_drivers_are_sorted_and_readable(model, test_period):
    rows = test_period.head(50)
    contrib = contributions(model, rows)
    drivers = top_drivers(contrib, rows, k=3)
    assert len(drivers) == len(rows)
    for row_drivers, (_, row) in zip(drivers, rows.iterrows()):
        assert 1 <= len(row_drivers) <= 3
        impacts = [abs(d["impact"]) for d in row_drivers]
        assert impacts == sorted(impacts, reverse=True)
        for d in row_drivers:
            label = feature_label(d["feature"])
            assert label[:1].upper() + label[1:] in d["sentence"]
            assert ("raises churn risk" if d["impact"] > 0 else "lowers churn risk") in d["sentence"]
            if d["feature"] == "plan":
                assert row["plan"] in d["sentence"] and d["value"] == row["plan"]
        json.dumps(row_drivers)  # JSON-safe values


def test_family_subscores_are_bounded_and_follow_contributions(model, test_period):
    contrib = contributions(model, test_period)
    subs = family_subscores(contrib, FAMILIES)
    assert list(subs.columns) == ["usage_score", "billing_score", "support_score", "sentiment_score"]
    assert ((subs >= 0) & (subs <= 100)).all().all()
    usage_features = [f for f, family in FAMILIES.items() if family in {"usage", "trend", "adoption"}]
    usage = contrib[usage_features].sum(axis=1)
    assert subs["usage_score"].to_numpy()[usage.argmax()] == subs["usage_score"].min()
    # A family without features gets no score (NA), not a fake neutral 50.
    no_sentiment = family_subscores(contrib.drop(columns="nps_latest"), FAMILIES)
    assert no_sentiment["sentiment_score"].isna().all()


# --- scoring --------------------------------------------------------------------------------


def test_score_accounts_on_current_snapshot(model, snapshots):
    current = latest_snapshot(snapshots)
    scored = score_accounts(model, current)
    assert list(scored.columns) == [
        "account_id",
        "as_of_date",
        "churn_probability",
        "health_score",
        "health_band",
        "top_drivers",
        "usage_score",
        "billing_score",
        "support_score",
        "sentiment_score",
        "model_version",
        "model_kind",
    ]
    assert len(scored) == current["account_id"].nunique() == 300
    assert scored["health_score"].between(0, 100).all()
    assert set(scored["health_band"]) <= {"red", "yellow", "green"}
    assert (scored["model_version"] == model.version).all()
    drivers = json.loads(scored["top_drivers"].iloc[0])
    assert {"feature", "value", "impact", "sentence"} == set(drivers[0])
    # Riskier accounts never score healthier.
    ranked = scored.sort_values("churn_probability")
    assert (np.diff(ranked["health_score"].to_numpy()) <= 0).all()


def test_score_accounts_handles_unseen_category_and_missing_values(model, snapshots):
    current = latest_snapshot(snapshots).copy()
    current.loc[current.index[0], "plan"] = "brand_new_plan"
    current.loc[current.index[1], "logins_30d"] = np.nan
    scored = score_accounts(model, current)
    assert scored["churn_probability"].notna().all()


def test_score_accounts_rejects_duplicate_grain(model, snapshots):
    current = latest_snapshot(snapshots)
    with pytest.raises(ValueError, match="duplicate"):
        score_accounts(model, pd.concat([current, current.head(1)]))


# --- artifacts ------------------------------------------------------------------------------


def test_save_load_round_trip_gives_identical_predictions(model, snapshots, tmp_path):
    folder = save_model(model, tmp_path)
    assert folder == tmp_path / model.version
    assert {p.name for p in folder.iterdir()} == {"model.txt", "calibrator.json", "metadata.json", "categories.json"}
    loaded = load_model(folder)
    current = latest_snapshot(snapshots)
    np.testing.assert_array_equal(predict_proba(loaded, current), predict_proba(model, current))
    np.testing.assert_array_equal(contributions(loaded, current).to_numpy(), contributions(model, current).to_numpy())
    pd.testing.assert_frame_equal(score_accounts(loaded, current), score_accounts(model, current))
    assert loaded.metadata == json.loads(json.dumps(model.metadata))
    with pytest.raises(FileExistsError):
        save_model(model, tmp_path)


def test_champion_pointer(model, snapshots, tmp_path):
    save_model(model, tmp_path)
    assert champion_version(tmp_path) is None
    with pytest.raises(FileNotFoundError, match="promote"):
        load_model(tmp_path)

    promote_model(tmp_path, model.version)
    assert champion_version(tmp_path) == model.version
    assert load_model(tmp_path).version == model.version

    newer = train_churn_model(
        snapshots,
        FEATURES,
        LABEL,
        HORIZON,
        feature_families=FAMILIES,
        trained_at=pd.Timestamp("2030-01-01", tz="UTC").to_pydatetime(),
    )
    save_model(newer, tmp_path, promote=True)
    assert champion_version(tmp_path) == newer.version != model.version
    assert load_model(tmp_path).version == newer.version
    with pytest.raises(FileNotFoundError):
        promote_model(tmp_path, "churn-does-not-exist")


def test_prepared_matrix_matches_model_categories(model, snapshots):
    X = prepare_matrix(latest_snapshot(snapshots), model.features, model.categories)
    assert list(X["plan"].cat.categories) == model.categories["plan"] == ["enterprise", "growth", "starter"]


def test_the_lightgbm_grid_is_chosen_on_the_training_weeks_only(snapshots):
    grid = ({}, {"num_leaves": 2, "min_data_in_leaf": 5000})  # the second cannot split: a poor ranker
    tuned = train_churn_model(snapshots, FEATURES, LABEL, HORIZON, training=TrainSpec(grid=grid))
    search = tuned.metadata["grid_search"]
    assert len(search["inner_auc"]) == 2 and search["chosen"] == 0
    assert search["inner_auc"][0] > search["inner_auc"][1]
    assert tuned.metadata["params"]["num_leaves"] == DEFAULT_PARAMS["num_leaves"]
    # The same data and the chosen point as fixed params give the same booster.
    fixed = train_churn_model(snapshots, FEATURES, LABEL, HORIZON)
    np.testing.assert_allclose(predict_raw(tuned, snapshots), predict_raw(fixed, snapshots))


def test_platt_part_stays_finite_on_separable_data():
    raw, y = np.array([0.01, 0.02, 0.03, 0.6, 0.7, 0.8]), np.array([0, 0, 0, 1, 1, 1])
    calibrator = IsotonicCalibrator.fit(raw, y)
    intercept, slope = calibrator.platt
    assert np.isfinite([intercept, slope]).all() and 0 < slope < 100
    low = calibrator(np.array([1e-6, 1e-5, 1e-4]))  # far below the fitted range: still ranked
    assert (np.diff(low) > 0).all() and (low > 0).all()


def test_the_default_grid_trains_without_lightgbm_complaints(snapshots, capfd):
    # The grid lowers min_data_in_leaf on one shared dataset: LightGBM refuses that with pre-filtering on.
    tuned = train_churn_model(snapshots, FEATURES, LABEL, HORIZON, training=TrainSpec(grid=DEFAULT_GRID))
    assert len(tuned.metadata["grid_search"]["inner_auc"]) == len(DEFAULT_GRID)
    assert "Fatal" not in capfd.readouterr().err
