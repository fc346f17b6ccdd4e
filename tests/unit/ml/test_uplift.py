"""The uplift T-learner finds who a playbook helps, and says when there is too little holdout."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from dagster_project.ml import uplift
from dagster_project.ml.dataset import NothingToLearn


def _episodes(n: int, holdout_share: float, seed: int) -> pd.DataFrame:
    """Churn 0.35 without outreach; the playbook removes most of it for adoption problems only."""
    rng = np.random.default_rng(seed)
    adoption = rng.random(n) < 0.5
    noise = rng.normal(size=n)
    treated = rng.random(n) >= holdout_share
    true_uplift = np.where(adoption, 0.25, 0.0)
    p = 0.35 - true_uplift * treated
    return pd.DataFrame(
        {
            "alert_id": [f"x{i}" for i in range(n)],
            "account_id": [f"a{i}" for i in range(n)],
            "as_of_date": pd.Timestamp("2025-01-06") + pd.to_timedelta(rng.integers(0, 360, n), unit="D"),
            "usage_drop": adoption.astype(float) + 0.3 * rng.normal(size=n),
            "noise": noise,
            "treated": treated,
            uplift.OUTCOME: (rng.random(n) < p).astype(int),
            "true_uplift": true_uplift,
            "risk": 0.35 + 0.05 * noise,
        }
    )


def test_a_perfect_score_has_a_positive_qini_and_a_random_one_about_zero():
    rows = _episodes(4000, 0.5, 0)
    treated, churned = rows["treated"], rows[uplift.OUTCOME]
    perfect = uplift.qini_coefficient(rows["true_uplift"], treated, churned)
    random = uplift.qini_coefficient(np.random.default_rng(1).random(len(rows)), treated, churned)
    assert perfect > 0.005
    assert abs(random) < perfect / 3
    assert uplift.uplift_at(rows["true_uplift"], treated, churned) > 0.15


def test_walk_forward_learns_the_uplift_and_beats_risk_targeting():
    rows = _episodes(3000, 0.3, 2)
    scored = uplift.walk_forward(rows, ["usage_drop", "noise"], horizon_days=90, n_origins=3)
    assert scored["fold"].nunique() >= 2
    # every test episode is scored by a model trained only on episodes whose horizon had ended
    assert (scored["as_of_date"] >= scored["origin_date"]).all()
    result = uplift.evaluate(scored, oracle="true_uplift", risk="risk")
    assert result["qini"] > 0.5 * result["qini_oracle"] > 0
    assert result["true_saved_top10_by_uplift"] > result["true_saved_top10_by_risk"]


def test_too_small_a_holdout_is_nothing_to_learn_with_the_reason():
    rows = _episodes(300, 0.05, 3)
    with pytest.raises(NothingToLearn, match="holdout"):
        uplift.fit_uplift(rows, ["usage_drop"])


@pytest.mark.parametrize("kind", uplift.LEARNERS)
def test_the_model_round_trips_through_its_file(tmp_path, kind):
    rows = _episodes(1500, 0.4, 4)
    model = uplift.fit_uplift(rows, ["usage_drop", "noise"], kind)
    model.save(tmp_path, {"trained_on": len(rows)})
    loaded = uplift.UpliftModel.load(tmp_path)
    assert loaded.kind == kind
    assert np.allclose(loaded.predict(rows), model.predict(rows))
    assert uplift.UpliftModel.load(tmp_path / "none") is None


def test_the_s_learner_shifts_every_account_alike_and_the_backtest_picks_the_better_learner():
    rows = _episodes(3000, 0.3, 5)
    model = uplift.fit_uplift(rows, ["usage_drop", "noise"], uplift.S_LEARNER)
    scores = model.predict(rows)
    assert (scores > 0).all()  # the playbook lowers churn on average, so for everyone
    # a constant log-odds shift: the uplift grows with the risk without the playbook
    risk = model.control.predict(rows.assign(**{uplift.TREATED_FEATURE: 0.0}))
    assert spearmanr(scores, risk).statistic > 0.99
    scored = {kind: uplift.walk_forward(rows, ["usage_drop", "noise"], 90, kind=kind) for kind in uplift.LEARNERS}
    table = uplift.backtest_table(scored, oracle="true_uplift", risk="risk")
    pooled = table[table["fold"].isna()].set_index("learner")
    assert set(pooled.index) == set(uplift.LEARNERS)
    assert uplift.choose_learner(table) == pooled["qini"].idxmax()
    # here the effect depends on the kind of account: the T-learner finds it, the S-learner cannot
    assert uplift.choose_learner(table) == uplift.T_LEARNER
