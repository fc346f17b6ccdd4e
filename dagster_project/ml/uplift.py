"""Uplift: how much the playbook lowers each account's churn probability, learned from the holdout.

Two learners on the project's logistic regression (`ml.linear`), both on the episodes
(`health.outcomes`: an account's first alert in a horizon block, with a known outcome) and the
snapshot features of the alert date: a T-learner (one churn model per arm) and an S-learner (one
churn model with the group as a feature). The backtest picks the one with the higher Qini
coefficient. An account's uplift is P(churn | no outreach) - P(churn | playbook): > 0 means the playbook
is expected to save it. CSMs work the accounts with the highest uplift, the ones a playbook can
still save, rather than only the riskiest.

How good it is, walk-forward like the churn model: at each origin the two models train on the
episodes whose horizon ended before it, and score the episodes of the next period. Over the pooled
test episodes:

- the Qini coefficient: the area between the Qini curve (churners saved among the top k by uplift:
  holdout churners x playbook share - playbook churners) and the random-targeting line, divided
  by the number of episodes squared; > 0 beats random targeting;
- uplift@10 %: holdout churn rate - playbook churn rate among the top 10 % by uplift;
- on simulated companies, the oracle: the same Qini with the simulator's true uplift, and the
  churners a top-10 % list saves by uplift vs by churn probability (true uplift summed).

With too few holdout episodes (or no churner in an arm) there is nothing to learn: `NothingToLearn`
says why, and the uplift score stays empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dagster_project.core.holdout import HOLDOUT, PLAYBOOK
from dagster_project.ml.dataset import NothingToLearn
from dagster_project.ml.linear import LinearModel, fit_linear

OUTCOME = "churned_within_horizon"
MIN_ARM_EPISODES = 30  # known episodes per arm
MIN_ARM_CHURNED = 5  # churners per arm (and as many non-churners)
TOP_SHARE = 0.10
UPLIFT_FILE = "uplift.json"


def episode_rows(outcomes: pd.DataFrame, snapshots: pd.DataFrame) -> pd.DataFrame:
    """Known episode starts with the snapshot features of their alert date.

    `outcomes` is mart_alert_outcomes; `snapshots` has account_id, as_of_date and the features.
    Returns the snapshot columns plus alert_id, treatment_group, `treated` (bool), OUTCOME (0/1).
    """
    episodes = outcomes[outcomes["is_episode_start"].astype(bool) & outcomes[OUTCOME].notna()]
    episodes = episodes[["alert_id", "account_id", "alert_date", "treatment_group", OUTCOME]].copy()
    episodes["as_of_date"] = pd.to_datetime(episodes["alert_date"])
    snaps = snapshots.copy()
    snaps["as_of_date"] = pd.to_datetime(snaps["as_of_date"])
    snaps = snaps.drop(columns=[c for c in (OUTCOME, "alert_id", "treatment_group") if c in snaps.columns])
    rows = episodes.drop(columns="alert_date").merge(snaps, on=["account_id", "as_of_date"], how="inner")
    rows["treated"] = rows["treatment_group"] == PLAYBOOK
    rows[OUTCOME] = rows[OUTCOME].astype(bool).astype(int)
    return rows.sort_values(["as_of_date", "account_id"], kind="stable").reset_index(drop=True)


def check_arms(rows: pd.DataFrame) -> None:
    """Raise NothingToLearn unless both arms have enough episodes, churners and non-churners."""
    for arm, name in ((True, PLAYBOOK), (False, HOLDOUT)):
        part = rows[rows["treated"] == arm]
        churned = int(part[OUTCOME].sum())
        if len(part) < MIN_ARM_EPISODES or min(churned, len(part) - churned) < MIN_ARM_CHURNED:
            raise NothingToLearn(
                f"Too little {name} data for an uplift model: {len(part)} episodes with a known outcome, "
                f"{churned} churned (needs {MIN_ARM_EPISODES} episodes and {MIN_ARM_CHURNED} churners and "
                f"non-churners per arm). The holdout grows with time and AHW_HOLDOUT_SHARE; "
                "without cs_activities the groups still come from the alerts."
            )


T_LEARNER = "t_learner"
S_LEARNER = "s_learner"
LEARNERS = (T_LEARNER, S_LEARNER)
TREATED_FEATURE = "_playbook"  # the S-learner's treatment column


@dataclass
class UpliftModel:
    """uplift = P(churn | holdout) - P(churn | playbook), from one of two learners:

    - t_learner: one churn model per arm (`control` on holdout episodes, `treated` on playbook
      ones); free to find a different effect for every kind of account, and noisy with small arms;
    - s_learner: one churn model on every episode with the group as a feature (`control` holds it);
      the playbook shifts the log-odds by the same amount for everyone, so the uplift grows with the
      risk; stable with small arms, blind to who the playbook helps more.
    """

    kind: str
    control: LinearModel
    treated: LinearModel | None = None

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        if self.kind == S_LEARNER:
            return self.control.predict(df.assign(**{TREATED_FEATURE: 0.0})) - self.control.predict(
                df.assign(**{TREATED_FEATURE: 1.0})
            )
        return self.control.predict(df) - self.treated.predict(df)

    def save(self, directory: Path, metadata: dict) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / UPLIFT_FILE
        tmp = path.with_suffix(".tmp")
        data = {
            "kind": self.kind,
            "control": self.control.to_dict(),
            "treated": self.treated.to_dict() if self.treated is not None else None,
            "metadata": metadata,
        }
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, directory: Path) -> UpliftModel | None:
        path = directory / UPLIFT_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        treated = LinearModel.from_dict(data["treated"]) if data.get("treated") else None
        return cls(data["kind"], LinearModel.from_dict(data["control"]), treated)


def fit_uplift(rows: pd.DataFrame, features: list[str], kind: str = T_LEARNER) -> UpliftModel:
    """Fit the learner (the linear model's default penalty: the arms are small)."""
    if kind not in LEARNERS:
        raise ValueError(f"Unknown uplift learner {kind!r}; expected one of {', '.join(LEARNERS)}.")
    check_arms(rows)
    if kind == S_LEARNER:
        shared = rows.assign(**{TREATED_FEATURE: rows["treated"].astype(float)})
        return UpliftModel(kind, fit_linear(shared, [*features, TREATED_FEATURE], OUTCOME))
    return UpliftModel(
        kind,
        control=fit_linear(rows[~rows["treated"]], features, OUTCOME),
        treated=fit_linear(rows[rows["treated"]], features, OUTCOME),
    )


def _ranked(score) -> np.ndarray:
    """Row positions from the highest score down (ties keep their order)."""
    return np.argsort(-np.asarray(score, dtype=float), kind="stable")


def _top(score, share: float) -> np.ndarray:
    """Row positions of the top `share` by score (at least one row)."""
    order = _ranked(score)
    return order[: max(int(round(share * len(order))), 1)]


def qini_curve(score, treated, churned) -> np.ndarray:
    """Churners saved among the top k by score, k = 1..n (holdout churners scaled to the playbook
    arm's size minus playbook churners)."""
    order = _ranked(score)
    t = np.asarray(treated, dtype=bool)[order]
    y = np.asarray(churned, dtype=float)[order]
    n_t, n_c = np.cumsum(t), np.cumsum(~t)
    churn_t, churn_c = np.cumsum(y * t), np.cumsum(y * ~t)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(n_c > 0, churn_c * n_t / np.maximum(n_c, 1), 0.0)
    return scaled - churn_t


def qini_coefficient(score, treated, churned) -> float:
    """Area between the Qini curve and the random-targeting line, over n squared."""
    curve = qini_curve(score, treated, churned)
    n = len(curve)
    if n == 0:
        return float("nan")
    line = np.arange(1, n + 1) / n * curve[-1]
    return float((curve - line).sum() / (n * n))


def uplift_at(score, treated, churned, share: float = TOP_SHARE) -> float | None:
    """Holdout churn rate - playbook churn rate among the top `share` by score (None if an arm is empty)."""
    top = _top(score, share)
    t = np.asarray(treated, dtype=bool)[top]
    y = np.asarray(churned, dtype=float)[top]
    if t.all() or not t.any():
        return None
    return float(y[~t].mean() - y[t].mean())


def walk_forward(
    rows: pd.DataFrame, features: list[str], horizon_days: int, n_origins: int = 3, kind: str = T_LEARNER
) -> pd.DataFrame:
    """Walk-forward test predictions of the uplift model.

    The origins cut the episodes' dates into n_origins + 1 periods of equal counts; fold i trains
    on the episodes whose horizon ended by origin i (as_of_date + horizon <= origin) and scores the
    episodes in [origin i, origin i+1). Returns the scored test rows with `fold` and `uplift_score`;
    folds whose training arms are too small are left out.
    """
    dates = pd.to_datetime(rows["as_of_date"])
    cuts = dates.quantile(np.linspace(0, 1, n_origins + 2)[1:-1], interpolation="nearest").tolist()
    edges = [*cuts, dates.max() + pd.Timedelta(days=1)]
    scored = []
    for fold, (origin, end) in enumerate(zip(edges[:-1], edges[1:])):
        train = rows[dates + pd.Timedelta(days=horizon_days) <= origin]
        test = rows[(dates >= origin) & (dates < end)]
        if test.empty:
            continue
        try:
            model = fit_uplift(train, features, kind)
        except NothingToLearn:
            continue
        scored.append(test.assign(learner=kind, fold=fold, origin_date=origin, uplift_score=model.predict(test)))
    if not scored:
        raise NothingToLearn(
            "No walk-forward fold of the uplift model had enough training episodes in both arms "
            f"(needs {MIN_ARM_EPISODES} per arm with {MIN_ARM_CHURNED} churners and non-churners)."
        )
    return pd.concat(scored, ignore_index=True)


def evaluate(scored: pd.DataFrame, oracle: str | None = None, risk: str | None = None) -> dict:
    """Qini and uplift@10 % of the pooled test rows; with `oracle` (true uplift column) also the
    oracle's Qini and the true churners saved by a top-10 % list by uplift and, with `risk` (churn
    probability column), by risk."""
    treated, churned = scored["treated"].to_numpy(), scored[OUTCOME].to_numpy()
    out = {
        "test_episodes": len(scored),
        "test_holdout_episodes": int((~scored["treated"]).sum()),
        "qini": qini_coefficient(scored["uplift_score"], treated, churned),
        "uplift_at_10pct": uplift_at(scored["uplift_score"], treated, churned),
    }
    if oracle and oracle in scored and scored[oracle].notna().all():
        truth = scored[oracle].to_numpy()
        out["qini_oracle"] = qini_coefficient(truth, treated, churned)
        out["true_saved_top10_by_uplift"] = _true_saved(scored["uplift_score"], truth)
        out["true_saved_top10_by_oracle"] = _true_saved(truth, truth)
        if risk and risk in scored:
            out["true_saved_top10_by_risk"] = _true_saved(scored[risk].fillna(0), truth)
    return out


def _true_saved(score, truth, share: float = TOP_SHARE) -> float:
    """Expected churners a playbook saves on the top `share` by score: true uplift summed."""
    return float(np.asarray(truth, dtype=float)[_top(score, share)].sum())


def backtest_table(scored: dict[str, pd.DataFrame], oracle: str | None = None, risk: str | None = None) -> pd.DataFrame:
    """Per learner: one row per fold and one for the pooled test episodes (fold NULL)."""
    rows = []
    for kind, frame in scored.items():
        for fold, part in frame.groupby("fold", sort=True):
            rows.append(
                {
                    "learner": kind,
                    "fold": fold,
                    "origin_date": part["origin_date"].iloc[0],
                    **evaluate(part, oracle, risk),
                }
            )
        rows.append({"learner": kind, "fold": None, "origin_date": None, **evaluate(frame, oracle, risk)})
    return pd.DataFrame(rows)


def choose_learner(table: pd.DataFrame) -> str:
    """The learner with the higher pooled Qini coefficient (T-learner on a tie)."""
    pooled = table[table["fold"].isna()].set_index("learner")["qini"]
    return max(LEARNERS, key=lambda kind: (pooled.get(kind, float("-inf")), kind == T_LEARNER))
