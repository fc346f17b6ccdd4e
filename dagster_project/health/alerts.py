"""Alert rules: week-over-week score drops and band worsening, each with a playbook, an owner and
a response deadline (SPEC section 4), raised once per event.

Alerts are derived from `marts.mart_account_health_history` alone, so re-deriving them gives the
same table. For a history row on date d:

- **score drop**: `drop` = the score of the account's latest row at or before d - 7 days minus the
  score at d. A drop of `minor_min`..`moderate_min - 1` points is a minor drop, up to
  `major_min - 1` a moderate one, `major_min` or more a major one. Once per event: a drop alert is
  not raised again for the same account within 7 days of a drop alert of the same or a higher
  severity (daily rows inside one week see the same week-over-week drop; a worse drop escalates).
  Weekly rows are 7 days apart, so a decline that continues next week is a new event.
- **band worsens**: the (hysteresis) band at d is worse than at the account's previous row. The
  band changes once per crossing, so the alert is raised once per crossing.

`raised_at` is when the alert could first be seen: the `scored_at` of the row that triggered it,
or, for a row scored after the fact (`is_backfilled`), the start of the day after its as_of_date.
`respond_by` = `raised_at` + the rule's response time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dagster_project.health.bands import BAND_RANK

SCORE_DROP = "score_drop"
BAND_WORSENED = "band_worsened"
COMPARISON_DAYS = 7


@dataclass(frozen=True)
class AlertRule:
    """What happens when an alert of one severity is raised."""

    severity: str
    playbook: str
    owner_role: str
    respond_within_hours: int


@dataclass(frozen=True)
class AlertPolicy:
    """Score-drop tiers (points) and the rule of each alert kind; defaults follow SPEC section 4."""

    minor_min: int = 1
    moderate_min: int = 11
    major_min: int = 21
    minor: AlertRule = AlertRule("minor_drop", "in-app nudge", "automated", 0)
    moderate: AlertRule = AlertRule("moderate_drop", "CS outreach", "CSM", 24)
    major: AlertRule = AlertRule(
        "major_drop", "technical remediation + renewal prioritization", "TAM / technical owner", 48
    )
    # Band worsening: owned by the CSM within 24 hours; the playbook is the one of the new band.
    band_playbooks: dict[str, str] = field(
        default_factory=lambda: {
            "yellow": "CS outreach",
            "red": "technical remediation + renewal prioritization",
        }
    )
    band_owner_role: str = "CSM"
    band_respond_within_hours: int = 24

    def __post_init__(self) -> None:
        if not 1 <= self.minor_min < self.moderate_min < self.major_min <= 100:
            raise ValueError(
                "Alert drop tiers need 1 <= minor < moderate < major <= 100 points, got "
                f"{self.minor_min} / {self.moderate_min} / {self.major_min}. "
                "Fix AHW_ALERT_MINOR_DROP_POINTS / AHW_ALERT_MODERATE_DROP_POINTS / AHW_ALERT_MAJOR_DROP_POINTS."
            )

    def drop_tiers(self, drop) -> np.ndarray:
        """The tier of each score drop (points; NaN = no earlier score): 0 below the minor tier,
        then 1, 2, 3 = minor, moderate, major (the index + 1 of its rule in `drop_rules`)."""
        drop = np.asarray(drop, dtype=float)
        return np.select([drop >= self.major_min, drop >= self.moderate_min, drop >= self.minor_min], [3, 2, 1], 0)

    @property
    def drop_rules(self) -> tuple[AlertRule, AlertRule, AlertRule]:
        return (self.minor, self.moderate, self.major)


ALERT_COLUMNS = [
    "alert_id",
    "account_id",
    "alert_date",
    "alert_type",
    "severity",
    "previous_score",
    "current_score",
    "score_decrement",
    "band_from",
    "band_to",
    "playbook",
    "owner_role",
    "raised_at",
    "respond_by",
    "is_backfilled",
    "top_drivers",
]
HISTORY_COLUMNS = [
    "account_id",
    "as_of_date",
    "health_score",
    "health_band",
    "top_drivers",
    "scored_at",
    "is_backfilled",
]


def score_change(history: pd.DataFrame, days: int = COMPARISON_DAYS) -> pd.DataFrame:
    """Per row, the score of the account's latest row at or before as_of_date - `days`.

    Returns `history` (sorted by account, date) with `reference_date`, `reference_score` and
    `score_change` = health_score - reference_score (NaN when there is no earlier row).
    """
    frame = history.copy()
    # one unit for dates and the shifted dates, whatever the input's (merge_asof needs equal units)
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"]).astype("datetime64[us]")
    frame = frame.sort_values(["as_of_date", "account_id"], kind="stable").reset_index(drop=True)
    left = frame.assign(_target=frame["as_of_date"] - pd.Timedelta(days=days))
    right = (
        frame[["account_id", "as_of_date", "health_score"]]
        .rename(columns={"as_of_date": "reference_date", "health_score": "reference_score"})
        .sort_values("reference_date")
    )
    merged = pd.merge_asof(
        left.sort_values("_target"),
        right,
        left_on="_target",
        right_on="reference_date",
        by="account_id",
        direction="backward",
    ).drop(columns="_target")
    merged["score_change"] = merged["health_score"] - merged["reference_score"]
    return merged.sort_values(["account_id", "as_of_date"], kind="stable").reset_index(drop=True)


def derive_alerts(history: pd.DataFrame, policy: AlertPolicy | None = None) -> pd.DataFrame:
    """Every alert the history raises, in `ALERT_COLUMNS` order (see the module docstring)."""
    policy = policy or AlertPolicy()
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(
            f"marts.mart_account_health_history lacks the columns {missing}; rebuild it "
            "(materialize mart_account_health_history) before deriving alerts."
        )
    if history.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    rows = score_change(history[HISTORY_COLUMNS])
    rows["previous_band"] = rows.groupby("account_id")["health_band"].shift(1)
    rows["previous_row_score"] = rows.groupby("account_id")["health_score"].shift(1)

    # score drops: the tier of each row's drop (0 = none), then once per event (a loop over the
    # drops only: whether a drop repeats depends on the drop alerts raised before it)
    tier = policy.drop_tiers(-rows["score_change"])
    drops = rows[tier > 0].assign(_tier=tier[tier > 0])
    days = drops["as_of_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    keep = np.zeros(len(drops), dtype=bool)
    last_drop: dict[str, tuple[int, int]] = {}  # account -> (day, tier) of its last drop alert
    for i, (account, day, t) in enumerate(zip(drops["account_id"], days, drops["_tier"])):
        previous = last_drop.get(account)
        if previous is None or day - previous[0] >= COMPARISON_DAYS or t > previous[1]:
            last_drop[account] = (day, t)
            keep[i] = True
    drops = drops[keep]
    drop_rules = drops["_tier"].map(lambda t: policy.drop_rules[t - 1])
    drop_alerts = _alerts(
        drops,
        SCORE_DROP,
        drop_rules,
        previous_score=drops["reference_score"],
        decrement=-drops["score_change"],
        band_from=drops["previous_band"].where(
            drops["previous_band"].map(lambda b: isinstance(b, str)), drops["health_band"]
        ),
    )

    # band worsening: the band is worse than at the account's previous row
    rank = rows["health_band"].map(BAND_RANK)
    previous_rank = rows["previous_band"].map(lambda b: BAND_RANK[b] if isinstance(b, str) else np.nan)
    worse = rows[rank < previous_rank]
    band_rules = worse["health_band"].map(
        lambda band: AlertRule(
            f"band_to_{band}", policy.band_playbooks[band], policy.band_owner_role, policy.band_respond_within_hours
        )
    )
    band_alerts = _alerts(
        worse,
        BAND_WORSENED,
        band_rules,
        previous_score=worse["previous_row_score"],
        decrement=worse["previous_row_score"] - worse["health_score"],
        band_from=worse["previous_band"],
    )

    out = pd.concat([drop_alerts, band_alerts], ignore_index=True)[ALERT_COLUMNS]
    return out.sort_values(["alert_date", "account_id", "alert_type"], kind="stable").reset_index(drop=True)


def _alerts(
    rows: pd.DataFrame,
    alert_type: str,
    rules: pd.Series,
    previous_score: pd.Series,
    decrement: pd.Series,
    band_from: pd.Series,
) -> pd.DataFrame:
    """The alerts of `rows` (one per row), each with its rule (severity, playbook, owner, deadline)."""
    dates = pd.to_datetime(rows["as_of_date"])
    backfilled = rows["is_backfilled"].astype(bool)
    raised_at = (dates + pd.Timedelta(days=1)).where(backfilled, pd.to_datetime(rows["scored_at"]))
    hours = rules.map(lambda rule: rule.respond_within_hours).astype("int64")
    return pd.DataFrame(
        {
            "alert_id": rows["account_id"] + ":" + dates.dt.strftime("%Y-%m-%d") + f":{alert_type}",
            "account_id": rows["account_id"],
            "alert_date": dates.dt.date,
            "alert_type": alert_type,
            "severity": rules.map(lambda rule: rule.severity),
            "previous_score": previous_score.astype("int64"),
            "current_score": rows["health_score"].astype("int64"),
            "score_decrement": decrement.astype("int64"),
            "band_from": band_from,
            "band_to": rows["health_band"],
            "playbook": rules.map(lambda rule: rule.playbook),
            "owner_role": rules.map(lambda rule: rule.owner_role),
            "raised_at": raised_at,
            "respond_by": raised_at + pd.to_timedelta(hours, unit="h"),
            "is_backfilled": backfilled,
            "top_drivers": rows["top_drivers"],
        },
        columns=ALERT_COLUMNS,
    )
