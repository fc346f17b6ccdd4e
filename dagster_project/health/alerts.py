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
    band_playbooks: dict[str, str] = field(default_factory=lambda: {
        "yellow": "CS outreach",
        "red": "technical remediation + renewal prioritization",
    })
    band_owner_role: str = "CSM"
    band_respond_within_hours: int = 24

    def __post_init__(self) -> None:
        if not 1 <= self.minor_min < self.moderate_min < self.major_min <= 100:
            raise ValueError(
                "Alert drop tiers need 1 <= minor < moderate < major <= 100 points, got "
                f"{self.minor_min} / {self.moderate_min} / {self.major_min}. "
                "Fix AHW_ALERT_MINOR_DROP_POINTS / AHW_ALERT_MODERATE_DROP_POINTS / AHW_ALERT_MAJOR_DROP_POINTS."
            )

    def drop_rule(self, drop: float) -> AlertRule | None:
        """The rule for a score drop of `drop` points, None when below the minor tier."""
        if drop >= self.major_min:
            return self.major
        if drop >= self.moderate_min:
            return self.moderate
        if drop >= self.minor_min:
            return self.minor
        return None


ALERT_COLUMNS = [
    "alert_id", "account_id", "alert_date", "alert_type", "severity", "previous_score",
    "current_score", "score_decrement", "band_from", "band_to", "playbook", "owner_role",
    "raised_at", "respond_by", "is_backfilled", "top_drivers",
]
HISTORY_COLUMNS = [
    "account_id", "as_of_date", "health_score", "health_band", "top_drivers", "scored_at", "is_backfilled",
]


def score_change(history: pd.DataFrame, days: int = COMPARISON_DAYS) -> pd.DataFrame:
    """Per row, the score of the account's latest row at or before as_of_date - `days`.

    Returns `history` (sorted by account, date) with `reference_date`, `reference_score` and
    `score_change` = health_score - reference_score (NaN when there is no earlier row).
    """
    frame = history.copy()
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])
    frame = frame.sort_values(["as_of_date", "account_id"], kind="stable").reset_index(drop=True)
    left = frame.assign(_target=frame["as_of_date"] - pd.Timedelta(days=days))
    right = frame[["account_id", "as_of_date", "health_score"]].rename(
        columns={"as_of_date": "reference_date", "health_score": "reference_score"}
    ).sort_values("reference_date")
    merged = pd.merge_asof(
        left.sort_values("_target"), right, left_on="_target", right_on="reference_date",
        by="account_id", direction="backward",
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

    alerts: list[dict] = []
    last_drop: dict[str, tuple[pd.Timestamp, int]] = {}  # account -> (date, tier) of its last drop alert
    tiers = {policy.minor.severity: 1, policy.moderate.severity: 2, policy.major.severity: 3}
    for row in rows.itertuples(index=False):
        drop = -row.score_change if pd.notna(row.score_change) else np.nan
        rule = policy.drop_rule(drop) if pd.notna(drop) else None
        if rule is not None:
            tier = tiers[rule.severity]
            previous = last_drop.get(row.account_id)
            repeated = previous is not None and (row.as_of_date - previous[0]).days < COMPARISON_DAYS \
                and tier <= previous[1]
            if not repeated:
                last_drop[row.account_id] = (row.as_of_date, tier)
                alerts.append(_alert(row, SCORE_DROP, rule, row.reference_score, drop,
                                     row.previous_band if isinstance(row.previous_band, str) else row.health_band))
        if isinstance(row.previous_band, str) and BAND_RANK[row.health_band] < BAND_RANK[row.previous_band]:
            band_rule = AlertRule(
                f"band_to_{row.health_band}", policy.band_playbooks[row.health_band],
                policy.band_owner_role, policy.band_respond_within_hours,
            )
            alerts.append(_alert(row, BAND_WORSENED, band_rule, row.previous_row_score,
                                 row.previous_row_score - row.health_score, row.previous_band))
    out = pd.DataFrame(alerts, columns=ALERT_COLUMNS)
    return out.sort_values(["alert_date", "account_id", "alert_type"], kind="stable").reset_index(drop=True)


def _alert(row, alert_type: str, rule: AlertRule, previous_score, decrement, band_from) -> dict:
    date = pd.Timestamp(row.as_of_date).date()
    raised_at = pd.Timestamp(date) + pd.Timedelta(days=1) if row.is_backfilled else pd.Timestamp(row.scored_at)
    return {
        "alert_id": f"{row.account_id}:{date.isoformat()}:{alert_type}",
        "account_id": row.account_id,
        "alert_date": date,
        "alert_type": alert_type,
        "severity": rule.severity,
        "previous_score": int(previous_score),
        "current_score": int(row.health_score),
        "score_decrement": int(decrement),
        "band_from": band_from,
        "band_to": row.health_band,
        "playbook": rule.playbook,
        "owner_role": rule.owner_role,
        "raised_at": raised_at,
        "respond_by": raised_at + pd.Timedelta(hours=rule.respond_within_hours),
        "is_backfilled": bool(row.is_backfilled),
        "top_drivers": row.top_drivers,
    }
