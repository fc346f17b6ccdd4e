"""The drivers of a score in words a customer-success manager trusts.

Each driver states the feature's value and a reference: the account's own past where the data has
it (this window vs the prior one, share of its own peak), else similar accounts (same size band on
the same date; all accounts of the date when the size is not recorded). Then it says which way the
feature pushes the outcome, from the model's contributions (`ml.explain`).

A reader expects a fall in logins to raise churn risk. When the stated comparison points the other
way from the effect ("fell ... lowers churn risk"), the sentence gives the reason instead of
leaving a contradiction: another reference that agrees ("still above the median of 40 for
accounts of 50-249 employees"), else the level the model learned for the feature ("but above
30 %, the level below which it raises churn risk"), else that the effect comes from the feature
together with the account's other signals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dagster_project.ml.explain import BIAS_COLUMN, neutral_levels, top_contributions

_ACRONYMS = {
    "mrr": "MRR",
    "arr": "ARR",
    "nps": "NPS",
    "api": "API",
    "csm": "CSM",
    "sso": "SSO",
    "id": "ID",
    "usd": "USD",
    "eur": "EUR",
    "csat": "CSAT",
    "sla": "SLA",
}
_WORDS = {"avg": "average", "num": "number of", "n": "number of", "cnt": "count", "pct": "%", "prev": "prior"}
_UNITS = {"days": "days", "hours": "hours", "minutes": "minutes", "usd": "USD", "eur": "EUR", "pct": "%"}
_WINDOW = re.compile(r"^(\d+)([dwmy])$")
_WINDOW_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}
# Values of features with these words are shares in [0, 1]: shown as percentages.
_SHARE_WORDS = {"utilization", "share", "rate"}
# A ratio of the account to its own prior window, e.g. logins_30d_vs_prior_30d.
_RATIO = re.compile(r"_vs_prior_(\d+[dwmy])$")
_SHARE_OF_PEAK = "_share_of_peak"
# Within this relative distance, a value is "about the same" as its reference.
_SAME = 0.05
PEER_COLUMN = "size_band"
# A missing value: a firmographic the company did not record, or a measure with nothing to measure
# (core actions per active user without active users, NPS without answers).
FIRMOGRAPHICS = ("industry", "size_band", "region", "employee_count", "country")
NOT_RECORDED, NO_DATA = "not recorded", "no data"
_UNKNOWN_GROUPS = {"", "unknown", "none", "null", "nan"}

# How a reader expects a higher value to move churn risk: +1 riskier, -1 healthier. Words match
# whole name parts (a plural s allowed), riskier first, so `users_deactivated_90d` is riskier
# although it mentions users and `nps_latest_score` is not "late". Features not
# listed (days to renewal, employee count, the company's own event names) carry no expectation;
# for them the model's learned direction is the reference.
_RISKIER = (
    "ticket",
    "error",
    "days_since",
    "removed",
    "disconnected",
    "deactivated",
    "late",
    "past_due",
    "open",
    "detractor",
    "response",
    "resolution",
    "bad_satisfaction",
    "failed",
    "gap",
    "inactive",
)
_HEALTHIER = (
    "login",
    "active",
    "core_action",
    "session",
    "utilization",
    "breadth",
    "connected",
    "invited",
    "export",
    "api_call",
    "share_of_peak",
    "slope",
    "vs_prior",
    "nps",
    "mrr",
    "arr",
    "seat",
    "tenure",
    "provisioned",
    "spend",
    "purchase",
)
# The outcome a driver moves, and whether a healthier account has more of it (-1) or less (+1).
OUTCOME_SIGN = {"churn risk": 1, "expansion likelihood": -1}


def feature_label(name: str) -> str:
    """A readable lower-case label from a snake_case feature name.

    `logins_30d` -> "logins in the last 30 days", `logins_30d_vs_prior_30d` -> "logins in the last
    30 days vs the prior 30 days", `mrr_change_90d` -> "MRR change in the last 90 days",
    `tenure_days` -> "tenure (days)", `active_users_slope_12w` -> "active users slope over the
    last 12 weeks".
    """
    tokens = [t for t in name.lower().split("_") if t]
    words: list[str] = []
    for i, token in enumerate(tokens):
        window = _WINDOW.match(token)
        previous = tokens[i - 1] if i else ""
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if window:
            words.append(_window_words(token, after_prior=previous in {"prior", "prev", "previous"}))
        elif token in {"prior", "prev", "previous"} and _WINDOW.match(following):
            words.append("the prior")
        elif token in _UNITS and i > 0 and (not following or _WINDOW.match(following)):
            words.append(f"({_UNITS[token]})")  # a unit suffix: tenure_days -> tenure (days)
        elif token in _ACRONYMS:
            words.append(_ACRONYMS[token])
        elif token in _WORDS:
            words.append(_WORDS[token])
        else:
            words.append(token)
    return " ".join(words)


def _window_words(token: str, after_prior: bool) -> str:
    """'30d' -> 'in the last 30 days' ('30 days' after 'prior'); '12w' -> 'over the last 12 weeks'."""
    window = _WINDOW.match(token)
    assert window is not None
    count, unit = int(window.group(1)), _WINDOW_UNITS[window.group(2)]
    unit = unit[:-1] if count == 1 else unit
    if after_prior:
        return f"{count} {unit}"
    return f"{'over' if window.group(2) == 'w' else 'in'} the last {count} {unit}"


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def json_value(value: Any) -> Any:
    """A feature value as JSON: None when missing, int when whole, float rounded to 4 decimals, else str."""
    if _is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return int(v) if v.is_integer() and abs(v) < 2**53 else round(v, 4)
    return str(value)


def _is_share(feature: str) -> bool:
    tokens = set(feature.lower().split("_"))
    return bool("pct" in tokens or tokens & _SHARE_WORDS)


def format_value(feature: str, value: Any) -> str:
    """A value as a CSM would say it: '1,250', '0.55', '45 %', 'enterprise', 'unknown'."""
    if _is_missing(value):
        return "unknown"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    v = float(value)
    tokens = set(feature.lower().split("_"))
    if "pct" in tokens:
        return f"{v:,.0f} %"
    if tokens & _SHARE_WORDS and -1.5 <= v <= 1.5:
        return f"{v * 100:.0f} %"
    if v.is_integer():
        return f"{int(v):,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:,.1f}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def expected_direction(feature: str) -> int:
    """How a reader expects a higher value of `feature` to move churn risk: +1, -1, or 0 (no expectation)."""
    name = feature.lower()
    if any(re.search(rf"(^|_){word}s?(_|$)", name) for word in _RISKIER):
        return 1
    if any(re.search(rf"(^|_){word}s?(_|$)", name) for word in _HEALTHIER):
        return -1
    return 0


def own_past_ratio_column(feature: str, columns: Sequence[str]) -> str | None:
    """The column holding `feature` / its prior window (`logins_30d` -> `logins_30d_vs_prior_30d`), if any."""
    tail = feature.rsplit("_", 1)[-1]
    if not _WINDOW.match(tail) or _RATIO.search(feature):
        return None
    column = f"{feature}_vs_prior_{tail}"
    return column if column in columns else None


def _sign(x: float) -> int:
    return 1 if x > 0 else -1 if x < 0 else 0


def _side(value: float, reference: float) -> int:
    """+1 above, -1 below, 0 within `_SAME` of the reference."""
    if value == reference or (reference != 0 and abs(value / reference - 1.0) <= _SAME):
        return 0
    return _sign(value - reference)


def _change_text(ratio: float) -> str:
    """'down 45 %', 'up 10 %' or 'about the same' for a ratio to a prior window."""
    if abs(ratio - 1.0) <= _SAME:
        return "about the same"
    return f"{'up' if ratio > 1 else 'down'} {abs(ratio - 1.0) * 100:.0f} %"


def _peer_phrase(feature: str, value: float, median: float, group: str | None) -> tuple[str, int]:
    """('above the median of 2 for accounts of 50-249 employees', +1): the value against its peers."""
    shown = _change_text(median) if _RATIO.search(feature) else format_value(feature, median)
    peers = f"accounts of {group} employees" if group else "similar accounts"
    side = _side(value, median)
    where = "in line with" if side == 0 else "above" if side > 0 else "below"
    if _RATIO.search(feature):
        return f"{where} {peers} (median: {shown})", side
    return f"{where} the median of {shown} for {peers}", side


def _level_phrase(feature: str, value: float, direction: int, level: float, outcome: str) -> tuple[str, int]:
    """('above 30 %, the level below which it raises churn risk', +1): the value against the learned level."""
    side = 1 if value > level else -1
    if _RATIO.search(feature):
        shown = _change_text(level)
    else:
        if (2 * level).is_integer() and not level.is_integer() and not _is_share(feature):
            # A level between two counts (5.5 tickets) reads as the count on the value's side of it.
            level = math.floor(level) if side > 0 else math.ceil(level)
        shown = format_value(feature, level)
    raising = "above" if direction > 0 else "below"
    return f"{'above' if side > 0 else 'below'} {shown}, the level {raising} which it raises {outcome}", side


def driver_sentence(
    feature: str,
    value: Any,
    impact: float,
    outcome: str = "churn risk",
    *,
    own_ratio: Any = None,
    peer_median: Any = None,
    peer_group: str | None = None,
    learned_direction: int = 0,
    learned_level: Any = None,
) -> str:
    """The driver in words: value, reference, and which way it pushes `outcome`.

    The reference is the account's own past when known (`own_ratio` = this window / the prior
    one, or a ratio or share-of-peak feature itself), else similar accounts (`peer_median` of
    accounts of the same `peer_group`, e.g. size band; None or 'unknown' reads "similar
    accounts"). `learned_direction` / `learned_level` are the model's level for the feature
    (`ml.explain.neutral_levels`); they give the reason when no reference agrees with the effect:

    'Logins in the last 30 days fell to 12, down 60 % from the prior 30 days — raises churn risk'
    'Core actions in the last 30 days fell to 78, down 26 % from the prior 30 days, still above the
    median of 40 for accounts of 50-249 employees — lowers churn risk'
    """
    label = feature_label(feature)
    label = label[:1].upper() + label[1:]
    effect = 1 if impact > 0 else -1
    direction = f"{'raises' if effect > 0 else 'lowers'} {outcome}"
    group = None if _is_missing(peer_group) or str(peer_group).strip().lower() in _UNKNOWN_GROUPS else str(peer_group)
    if _is_missing(value) or (isinstance(value, str) and value.strip().lower() in _UNKNOWN_GROUPS):
        return f"{label}: {NOT_RECORDED if feature in FIRMOGRAPHICS else NO_DATA} — {direction}"
    if not _is_number(value):
        return f"{label}: {format_value(feature, value)} — {direction}"

    v = float(value)
    has_peers = not _is_missing(peer_median)
    ratio = _RATIO.search(feature)
    if ratio:
        text, side = f"{label}: {_change_text(v)}", _side(v, 1.0)
    elif feature.endswith(_SHARE_OF_PEAK):
        text, side = f"{label}: {v * 100:.0f} % of the account's own peak", -1 if v < 1.0 - _SAME else 0
    elif not _is_missing(own_ratio):
        r = float(own_ratio)
        verb = "held at" if _side(r, 1.0) == 0 else "rose to" if r > 1 else "fell to"
        change = "about the same as" if _side(r, 1.0) == 0 else f"{_change_text(r)} from"
        window = _window_words(feature.rsplit("_", 1)[-1], after_prior=True)
        text, side = f"{label} {verb} {format_value(feature, v)}, {change} the prior {window}", _side(r, 1.0)
    elif has_peers:
        phrase, side = _peer_phrase(feature, v, float(peer_median), group)
        text, has_peers = f"{label}: {format_value(feature, v)}, {phrase}", False  # the peers are the reference
    else:
        return f"{label}: {format_value(feature, v)} — {direction}"

    expected = expected_direction(feature) * OUTCOME_SIGN.get(outcome, 0) or int(learned_direction)
    if expected == 0 or side == 0 or expected * side == effect:
        return f"{text} — {direction}"
    # The comparison reads the other way from the effect: give the reason.
    if has_peers and learned_direction in (0, expected):
        phrase, peer_side = _peer_phrase(feature, v, float(peer_median), group)
        if expected * peer_side == effect:
            return f"{text}, still {phrase} — {direction}"
    if learned_direction != 0 and not _is_missing(learned_level):
        phrase, level_side = _level_phrase(feature, v, int(learned_direction), float(learned_level), outcome)
        if learned_direction * level_side == effect:
            return f"{text}, {'and' if level_side == side else 'but'} {phrase} — {direction}"
    return f"{text} — {direction} together with the account's other signals"


def peer_medians(X_values: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """Per row, the median of each numeric feature among similar accounts: same as_of_date and size band.

    Rows whose size band is not recorded (missing or 'unknown') are compared with every account of
    their date; without a size band column the peers are all rows of the date (all rows without
    as_of_date). Non-numeric features get NaN.
    """
    numeric = [
        f
        for f in features
        if f in X_values and pd.api.types.is_numeric_dtype(X_values[f]) and not pd.api.types.is_bool_dtype(X_values[f])
    ]
    frame = X_values[numeric].astype("float64")
    if "as_of_date" in X_values.columns:
        by_date = frame.groupby(X_values["as_of_date"].astype(object), sort=False).transform("median")
    else:
        by_date = pd.DataFrame({c: frame[c].median() for c in numeric}, index=frame.index)
    if PEER_COLUMN not in X_values.columns:
        return by_date.reindex(columns=list(features))
    band = X_values[PEER_COLUMN].astype(object)
    known = band.notna() & ~band.astype(str).str.strip().str.lower().isin(_UNKNOWN_GROUPS)
    keys = [band.where(known, "")]
    if "as_of_date" in X_values.columns:
        keys.insert(0, X_values["as_of_date"].astype(object))
    by_band = frame.groupby(keys, sort=False).transform("median")
    return by_band.where(np.repeat(known.to_numpy()[:, None], len(numeric), axis=1), by_date).reindex(
        columns=list(features)
    )


def _levels_by_date(contrib: pd.DataFrame, X_values: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row and feature, the learned direction and level (`neutral_levels`) among the rows of its date.

    Learned date by date, so an account's sentence is the same whether its date is scored alone or
    with the whole history.
    """
    directions = np.zeros(contrib.shape, dtype="int64")
    levels = np.full(contrib.shape, np.nan)
    dates = X_values["as_of_date"].astype(object) if "as_of_date" in X_values.columns else pd.Series(0, X_values.index)
    for positions in dates.reset_index(drop=True).groupby(dates.to_numpy(), sort=False).indices.values():
        found = neutral_levels(contrib.iloc[positions], X_values.iloc[positions]).reindex(contrib.columns)
        directions[positions] = found["direction"].to_numpy()
        levels[positions] = found["level"].to_numpy()
    return directions, levels


def top_drivers(
    contrib: pd.DataFrame, X_values: pd.DataFrame, k: int = 3, outcome: str = "churn risk"
) -> list[list[dict[str, Any]]]:
    """For each row, the `k` features with the largest absolute contribution, in words.

    Each driver is {feature, value, impact, sentence}: `value` is the row's raw feature value
    (from `X_values`, aligned by position), `impact` the contribution in log-odds rounded to 4
    decimals (positive = raises `outcome`), sorted by |impact| descending, and `sentence` compares
    the value with the account's own past or with similar accounts on the same date
    (`driver_sentence`), giving the model's level for the feature where the comparison alone would
    read the other way from the effect. Features with zero contribution are not drivers, so a row
    can have fewer than `k`.
    """
    contrib = contrib.drop(columns=[BIAS_COLUMN], errors="ignore")
    if len(contrib) != len(X_values):
        raise ValueError(f"contrib has {len(contrib)} rows but X_values has {len(X_values)}; pass the same rows.")
    names = list(contrib.columns)
    missing = [c for c in names if c not in X_values.columns]
    if missing:
        raise ValueError(f"X_values lacks the feature columns {missing}; pass the rows that were explained.")
    chosen = top_contributions(contrib, k)

    position = {name: i for i, name in enumerate(names)}
    values = X_values[names].astype(object).to_numpy()
    medians = peer_medians(X_values, names).to_numpy(dtype="float64")
    directions, learned = _levels_by_date(contrib, X_values)
    ratio_columns = {f: r for f in names if (r := own_past_ratio_column(f, list(X_values.columns)))}
    ratios = {f: X_values[r].astype("float64").to_numpy() for f, r in ratio_columns.items()}
    groups = X_values[PEER_COLUMN].astype(object).to_numpy() if PEER_COLUMN in X_values else None
    out: list[list[dict[str, Any]]] = []
    for row, row_drivers in enumerate(chosen):
        drivers = []
        for feature, impact in row_drivers:
            col = position[feature]
            value = values[row, col]
            drivers.append(
                {
                    "feature": feature,
                    "value": json_value(value),
                    "impact": round(impact, 4),
                    "sentence": driver_sentence(
                        feature,
                        value,
                        impact,
                        outcome,
                        own_ratio=ratios[feature][row] if feature in ratios else None,
                        peer_median=medians[row, col],
                        peer_group=None if groups is None else groups[row],
                        learned_direction=int(directions[row, col]),
                        learned_level=learned[row, col],
                    ),
                }
            )
        out.append(drivers)
    return out
