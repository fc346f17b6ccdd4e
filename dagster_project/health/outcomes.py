"""Did the playbooks work? Alert outcomes, playbook effects against the holdout, rule precision.

The unit of the experiment is an **episode**: an account over one horizon block
(`core.holdout`), entered by its first alert in the block. The episode's group is the
block's group, its playbook the one the rule of that first alert names (withheld in the holdout),
and its outcome the churn label of the alert's date: did the account churn within the horizon
(`ml_account_snapshots.churned_within_90d`, NULL while censored)? Comparing the churn of playbook
episodes with holdout episodes measures what being worked is worth, everything else being equal
by randomization (an intention-to-treat effect: playbook episodes the team never worked count as
treated).

CS activities (raw.cs_activities, optional) are joined to alerts by `alert_id` when the CS tool
wrote it back, otherwise to the account's latest alert raised on or before the activity, within
the same horizon block. Without activities, everything still works: actions are 0, engagement and SLA
adherence are NULL, and the churn comparison needs only the labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from dagster_project.core.holdout import HOLDOUT, HOLDOUT_PLAYBOOK, PLAYBOOK, assign_groups, horizon_block

ENGAGED_OUTCOMES = ("completed", "escalated")
ALL_PLAYBOOKS = "all playbooks"
ANY_ALERT = "any alert"
MIN_EPISODES = 10  # per group, with a known outcome: below that a comparison says nothing


def assign_alert_groups(alerts: pd.DataFrame, share: float, salt: str, horizon_days: int) -> pd.DataFrame:
    """The alerts with their experiment columns.

    - `treatment_group`: playbook or holdout (the account's horizon block, `core.holdout`);
    - `rule_playbook`: the playbook the alert rule names; `playbook` says "holdout: no outreach"
      for a holdout alert, so a CS tool reading the mart does not act on it;
    - `horizon_block`, `episode_id` (account:block) and `is_episode_start` (the block's first alert).
    """
    out = alerts.copy()
    out["treatment_group"] = assign_groups(out["account_id"], out["alert_date"], share, salt, horizon_days)
    out["horizon_block"] = horizon_block(out["alert_date"], horizon_days)
    out["rule_playbook"] = out["playbook"]
    out["playbook"] = out["playbook"].where(out["treatment_group"] == PLAYBOOK, HOLDOUT_PLAYBOOK)
    out["episode_id"] = out["account_id"].astype(str) + ":" + out["horizon_block"].astype(str)
    order = out.sort_values(["alert_date", "raised_at", "alert_type"], kind="stable").index
    first = ~out.loc[order].duplicated("episode_id")
    out["is_episode_start"] = first.reindex(out.index).to_numpy()
    return out


def link_activities(alerts: pd.DataFrame, activities: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Each activity with the alert it answers: `linked_alert_id` and `linked_by`.

    `linked_by` is 'alert_id' (written back by the CS tool and known), 'account_time' (the
    account's latest alert on or before the activity's day in the same horizon block, so in the
    same group) or NULL (no alert: the activity is kept and counted, not linked).
    """
    acts = activities.copy()
    acts["created_at"] = pd.to_datetime(acts["created_at"])
    acts["linked_alert_id"] = pd.Series(pd.NA, index=acts.index, dtype="object")
    acts["linked_by"] = pd.Series(pd.NA, index=acts.index, dtype="object")
    if acts.empty or alerts.empty:
        return acts
    known = acts["alert_id"].isin(set(alerts["alert_id"])) if "alert_id" in acts else pd.Series(False, acts.index)
    acts.loc[known, "linked_alert_id"] = acts.loc[known, "alert_id"]
    acts.loc[known, "linked_by"] = "alert_id"

    rest = acts[~known].copy()
    if len(rest):
        rest["_day"] = rest["created_at"].dt.normalize().astype("datetime64[us]")
        rest["_block"] = horizon_block(rest["_day"], horizon_days)
        right = alerts[["account_id", "alert_id", "alert_date"]].copy()
        right["_alert_day"] = pd.to_datetime(right["alert_date"]).astype("datetime64[us]")
        right["_block"] = horizon_block(right["_alert_day"], horizon_days)
        # within the activity's horizon block: the block decides the group, so an outreach is
        # never credited to a holdout alert of the block before
        matched = pd.merge_asof(
            rest.reset_index().sort_values("_day"),
            right.drop(columns="alert_date").sort_values("_alert_day"),
            left_on="_day",
            right_on="_alert_day",
            by=["account_id", "_block"],
            direction="backward",
            suffixes=("", "_matched"),
        ).set_index("index")
        in_window = matched["_day"] - matched["_alert_day"] < pd.Timedelta(days=horizon_days)
        hit = matched.index[matched["alert_id_matched"].notna() & in_window]
        acts.loc[hit, "linked_alert_id"] = matched.loc[hit, "alert_id_matched"]
        acts.loc[hit, "linked_by"] = "account_time"
    return acts


def alert_outcomes(
    alerts: pd.DataFrame,
    activities: pd.DataFrame,
    labels: pd.DataFrame,
    history: pd.DataFrame,
    now: pd.Timestamp,
    horizon_days: int,
) -> pd.DataFrame:
    """One row per alert (`alerts` from `assign_alert_groups`): actions, SLA, engagement, outcome.

    `activities` come from `link_activities`; `labels` has account_id, as_of_date,
    churned_within_90d, expanded_within_90d; `history` has account_id, as_of_date, health_score,
    arr_usd (the score history).
    """
    out = alerts.copy()
    out["alert_date"] = pd.to_datetime(out["alert_date"])
    linked = activities[activities["linked_alert_id"].notna()].copy()
    linked["engaged"] = linked["outcome"].isin(ENGAGED_OUTCOMES)
    linked = linked.sort_values("created_at", kind="stable")
    per_alert = linked.groupby("linked_alert_id").agg(
        actions=("activity_id", "count"),
        first_action_at=("created_at", "min"),
        first_action_outcome=("outcome", "first"),
        engaged=("engaged", "any"),
    )
    with_feedback = linked[linked["feedback"].notna()]
    feedback = with_feedback.groupby("linked_alert_id")[["feedback", "feedback_reason"]].last()
    out = out.merge(per_alert, left_on="alert_id", right_index=True, how="left")
    out = out.merge(feedback, left_on="alert_id", right_index=True, how="left")
    out["actions"] = out["actions"].fillna(0).astype("int64")

    # SLA: a person owns the alert and the first action came by respond_by; unknown until the
    # deadline passes; not applicable to the holdout (no outreach) or to automated nudges.
    applies = (out["treatment_group"] == PLAYBOOK) & (out["owner_role"] != "automated")
    respond_by = pd.to_datetime(out["respond_by"])
    met = out["first_action_at"].notna() & (pd.to_datetime(out["first_action_at"]) <= respond_by)
    decided = met | (respond_by < now)
    out["met_respond_by"] = pd.Series(met, dtype="boolean").where(applies & decided)
    out["engaged"] = pd.Series(out["engaged"].fillna(False).astype(bool), dtype="boolean").where(
        out["treatment_group"] == PLAYBOOK
    )

    lab = labels[["account_id", "as_of_date", "churned_within_90d", "expanded_within_90d"]].copy()
    lab["as_of_date"] = pd.to_datetime(lab["as_of_date"])
    out = out.merge(
        lab.rename(
            columns={
                "as_of_date": "alert_date",
                "churned_within_90d": "churned_within_horizon",
                "expanded_within_90d": "expanded_within_horizon",
            }
        ),
        on=["account_id", "alert_date"],
        how="left",
    )
    for column in ("churned_within_horizon", "expanded_within_horizon"):
        out[column] = out[column].astype("boolean")
    out["horizon_end_date"] = out["alert_date"] + pd.Timedelta(days=horizon_days)
    out["score_recovered"] = _score_recovered(out, history, now)
    hist = history[["account_id", "as_of_date", "arr_usd"]].copy()
    hist["as_of_date"] = pd.to_datetime(hist["as_of_date"])
    out = out.merge(hist.rename(columns={"as_of_date": "alert_date"}), on=["account_id", "alert_date"], how="left")
    out["was_true_positive"] = out["churned_within_horizon"]
    return out.sort_values(["alert_date", "account_id", "alert_type"], kind="stable").reset_index(drop=True)


def _score_recovered(out: pd.DataFrame, history: pd.DataFrame, now: pd.Timestamp) -> pd.Series:
    """True when the score is back at previous_score within the horizon; False when the horizon
    passed without it; NULL while it has not."""
    hist = history[["account_id", "as_of_date", "health_score"]].copy()
    hist["as_of_date"] = pd.to_datetime(hist["as_of_date"])
    pairs = out[["alert_id", "account_id", "alert_date", "horizon_end_date", "previous_score"]].merge(
        hist, on="account_id", how="inner"
    )
    pairs = pairs[(pairs["as_of_date"] > pairs["alert_date"]) & (pairs["as_of_date"] <= pairs["horizon_end_date"])]
    recovered_ids = set(pairs.loc[pairs["health_score"] >= pairs["previous_score"], "alert_id"])
    recovered = out["alert_id"].isin(recovered_ids)
    passed = out["horizon_end_date"] <= now
    return pd.Series(recovered, dtype="boolean").where(recovered | passed)


@dataclass(frozen=True)
class Difference:
    """Treated minus holdout churn rate, with its Newcombe (hybrid Wilson score) interval."""

    estimate: float
    low: float
    high: float


def wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate_difference(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> Difference | None:
    """x1/n1 - x2/n2 with Newcombe's hybrid score interval (good coverage with small groups and
    rates near 0); None when a group is empty."""
    if n1 == 0 or n2 == 0:
        return None
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return Difference(
        estimate=d,
        low=d - float(np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
        high=d + float(np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)),
    )


def playbook_outcomes(outcomes: pd.DataFrame, min_episodes: int = MIN_EPISODES) -> pd.DataFrame:
    """Playbook x month cohort (the month of the episode's first alert), plus one all-months row
    per playbook (cohort_month NULL) and one for all playbooks together.

    The churn difference and its 95 % interval compare playbook episodes with holdout episodes
    whose outcome is known. `verdict` says works / harms / no effect shown / too small; it reads a
    Bonferroni-corrected interval, over the all-months rows as one family and the month rows as
    another, so that with no real effect no playbook is called working by chance.
    """
    frame = outcomes.copy()
    frame["cohort_month"] = pd.to_datetime(frame["alert_date"]).dt.to_period("M").dt.start_time
    cells: list[tuple[str, pd.Timestamp | None, pd.DataFrame]] = []
    for (playbook, month), cell in frame.groupby(["rule_playbook", "cohort_month"], sort=True):
        cells.append((playbook, month, cell))
    for playbook, cell in frame.groupby("rule_playbook", sort=True):
        cells.append((playbook, None, cell))
    cells.append((ALL_PLAYBOOKS, None, frame))

    rows = [_cell_row(playbook, month, cell, min_episodes) for playbook, month, cell in cells]
    out = pd.DataFrame(rows)
    out["verdict"] = "too small"
    for is_total in (True, False):
        family = out.index[(out["cohort_month"].isna() == is_total) & ~out["too_small"]]
        level = 1 - 0.05 / max(len(family), 1)
        for i in family:
            r = out.loc[i]
            diff = rate_difference(
                int(r["churned_playbook"]),
                int(r["known_playbook"]),
                int(r["churned_holdout"]),
                int(r["known_holdout"]),
                level,
            )
            out.loc[i, "verdict"] = "works" if diff.high < 0 else "harms" if diff.low > 0 else "no effect shown"
    return out


def _cell_row(playbook: str, month, cell: pd.DataFrame, min_episodes: int) -> dict:
    episodes = cell[cell["is_episode_start"].astype(bool)]
    known = episodes[episodes["churned_within_horizon"].notna()]
    treated = known[known["treatment_group"] == PLAYBOOK]
    holdout = known[known["treatment_group"] == HOLDOUT]
    x1, n1 = int(treated["churned_within_horizon"].sum()), len(treated)
    x2, n2 = int(holdout["churned_within_horizon"].sum()), len(holdout)
    diff = rate_difference(x1, n1, x2, n2)
    worked = cell[cell["treatment_group"] == PLAYBOOK]
    arr = float(treated["arr_usd"].fillna(0).sum())
    return {
        "playbook": playbook,
        "cohort_month": month,
        "alerts": len(cell),
        "alerts_holdout": int((cell["treatment_group"] == HOLDOUT).sum()),
        "actions": int(cell["actions"].sum()),
        "engagement_rate": _mean(worked["engaged"]),
        "sla_adherence": _mean(worked["met_respond_by"]),
        "episodes_playbook": int((episodes["treatment_group"] == PLAYBOOK).sum()),
        "episodes_holdout": int((episodes["treatment_group"] == HOLDOUT).sum()),
        "known_playbook": n1,
        "known_holdout": n2,
        "churned_playbook": x1,
        "churned_holdout": x2,
        "churn_rate_playbook": x1 / n1 if n1 else None,
        "churn_rate_holdout": x2 / n2 if n2 else None,
        "churn_difference": diff.estimate if diff else None,
        "churn_difference_low": diff.low if diff else None,
        "churn_difference_high": diff.high if diff else None,
        "arr_playbook_usd": arr,
        "arr_saved_usd": -diff.estimate * arr if diff else None,
        "arr_saved_low_usd": -diff.high * arr if diff else None,
        "arr_saved_high_usd": -diff.low * arr if diff else None,
        "too_small": n1 < min_episodes or n2 < min_episodes,
    }


def _mean(values: pd.Series) -> float | None:
    known = values.dropna()
    return float(known.astype(float).mean()) if len(known) else None


def rule_precision(
    outcomes: pd.DataFrame, churn_dates: pd.DataFrame, now: pd.Timestamp, horizon_days: int
) -> pd.DataFrame:
    """Per alert severity (and for any alert): how often the alert was right, and how much it missed.

    - precision: alerts followed by churn within the horizon / alerts whose outcome is known.
      Outreach lowers churn, so `precision_holdout` (holdout alerts only) is the rule's own;
    - not_useful_share: alerts marked not useful / alerts with feedback;
    - recall: churns (`churn_dates`, on or before now) preceded by an alert of that severity in
      the horizon before the churn date / churns. 1 - recall is the share of churns it missed.
    """
    frame = outcomes.copy()
    frame["alert_date"] = pd.to_datetime(frame["alert_date"])
    churns = churn_dates[["account_id", "churn_date"]].copy()
    churns["churn_date"] = pd.to_datetime(churns["churn_date"])
    churns = churns[churns["churn_date"] <= now]
    rows = []
    groups = [(severity, cell) for severity, cell in frame.groupby("severity", sort=True)] + [(ANY_ALERT, frame)]
    for severity, cell in groups:
        known = cell[cell["churned_within_horizon"].notna()]
        holdout = known[known["treatment_group"] == HOLDOUT]
        rated = cell[cell["feedback"].notna()]
        pairs = churns.merge(cell[["account_id", "alert_date"]], on="account_id", how="left")
        before = (pairs["alert_date"] < pairs["churn_date"]) & (
            pairs["alert_date"] >= pairs["churn_date"] - pd.Timedelta(days=horizon_days)
        )
        preceded = pairs[before].drop_duplicates(["account_id", "churn_date"])
        rows.append(
            {
                "severity": severity,
                "alerts": len(cell),
                "alerts_known": len(known),
                "alerts_churned": int(known["churned_within_horizon"].sum()),
                "precision": _mean(known["churned_within_horizon"]),
                "precision_holdout": _mean(holdout["churned_within_horizon"]),
                "alerts_with_feedback": len(rated),
                "not_useful_share": float((rated["feedback"] == "not_useful").mean()) if len(rated) else None,
                "churns": len(churns),
                "churns_preceded": len(preceded),
                "recall": len(preceded) / len(churns) if len(churns) else None,
            }
        )
    return pd.DataFrame(rows)
