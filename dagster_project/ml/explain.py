"""Why an account scores the way it does: per-feature contributions, drivers in plain words,
and family sub-scores.

Contributions are LightGBM's exact TreeSHAP values (`pred_contrib=True`) in log-odds of the
*uncalibrated* model: per row they sum, with the bias, to the raw score. Isotonic calibration is
monotone, so a feature that raises the raw score never lowers the published probability; the
contributions explain the ranking, not the exact calibrated number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dagster_project.ml.dataset import prepare_matrix, validate_feature_families
from dagster_project.ml.train import TrainedModel

BIAS_COLUMN = "_bias"

# Sub-scores shown to customer-success managers. Adoption and trend features are usage seen over
# time, so they fold into usage; firmographics (industry, size, region) are not something a CSM
# can act on, so they get no sub-score (they still move the overall health score).
SUBSCORE_FAMILIES: dict[str, tuple[str, ...]] = {
    "usage": ("usage", "adoption", "trend", "event_name"),
    "billing": ("billing",),
    "support": ("support",),
    "sentiment": ("sentiment",),
}

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
            count, unit = int(window.group(1)), _WINDOW_UNITS[window.group(2)]
            unit = unit[:-1] if count == 1 else unit
            if previous in {"prior", "prev", "previous"}:
                words.append(f"{count} {unit}")
            else:
                words.append(f"{'over' if window.group(2) == 'w' else 'in'} the last {count} {unit}")
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


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


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


# A count and the feature that holds its ratio to the account's own prior window.
_OWN_PAST = {
    "logins_30d": "logins_30d_vs_prior_30d",
    "core_actions_30d": "core_actions_30d_vs_prior_30d",
    "active_users_30d": "active_users_30d_vs_prior_30d",
}
# Ratio features of the account to its own past: said as a change ("down 40 %").
_RATIOS = {"logins_30d_vs_prior_30d", "core_actions_30d_vs_prior_30d", "active_users_30d_vs_prior_30d"}
_SHARE_OF_PEAK = {"logins_share_of_peak", "core_actions_share_of_peak"}
# Within this relative distance, a value is "about the same" as its reference.
_SAME = 0.05
PEER_COLUMN = "size_band"


def _change(ratio: float) -> tuple[str, str]:
    """('fell to', 'down 60 % from') for a ratio of 0.4; ('held at', 'about the same as') near 1."""
    if abs(ratio - 1.0) <= _SAME:
        return "held at", "about the same as"
    pct = abs(ratio - 1.0) * 100
    return ("rose to", f"up {pct:.0f} % from") if ratio > 1 else ("fell to", f"down {pct:.0f} % from")


def driver_sentence(
    feature: str,
    value: Any,
    impact: float,
    outcome: str = "churn risk",
    *,
    own_ratio: Any = None,
    peer_median: Any = None,
    peer_group: str | None = None,
) -> str:
    """The driver in words: value, comparison, and which way it pushes `outcome`.

    The comparison is the account's own past when known (`own_ratio` = this window / the prior
    one, or a ratio or share-of-peak feature itself), else its peers (`peer_median` of accounts of
    the same `peer_group`, e.g. size band):

    'Logins in the last 30 days fell to 12, down 60 % from the prior 30 days — raises churn risk'
    'Open tickets: 7, above the median of 2 for accounts of 50-249 employees — raises churn risk'
    """
    label = feature_label(feature)
    label = label[:1].upper() + label[1:]
    direction = f"{'raises' if impact > 0 else 'lowers'} {outcome}"
    shown = format_value(feature, value)
    if feature in _RATIOS and not _is_missing(value):
        ratio = float(value)
        if abs(ratio - 1.0) <= _SAME:
            return f"{label}: about the same — {direction}"
        return f"{label}: {'up' if ratio > 1 else 'down'} {abs(ratio - 1.0) * 100:.0f} % — {direction}"
    if feature in _SHARE_OF_PEAK and not _is_missing(value):
        return f"{label}: {float(value) * 100:.0f} % of the account's own peak — {direction}"
    if feature in _OWN_PAST and not _is_missing(value) and not _is_missing(own_ratio):
        verb, change = _change(float(own_ratio))
        return f"{label} {verb} {shown}, {change} the prior 30 days — {direction}"
    if (
        not _is_missing(value)
        and not _is_missing(peer_median)
        and isinstance(value, (int, float, np.integer, np.floating))
    ):
        v, m = float(value), float(peer_median)
        group = f" for accounts of {peer_group} employees" if peer_group else ""
        reference = f"the median of {format_value(feature, m)}{group}"
        if m != 0 and abs(v / m - 1.0) <= _SAME or v == m:
            where = f"in line with {reference}"
        else:
            where = f"{'above' if v > m else 'below'} {reference}"
        return f"{label}: {shown}, {where} — {direction}"
    return f"{label}: {shown} — {direction}"


def peer_medians(X_values: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """Per row, the median of each numeric feature among rows of the same as_of_date and size band.

    Without those columns the peers are all rows. Non-numeric features get NaN.
    """
    numeric = [
        f
        for f in features
        if f in X_values and pd.api.types.is_numeric_dtype(X_values[f]) and not pd.api.types.is_bool_dtype(X_values[f])
    ]
    keys = [c for c in ("as_of_date", PEER_COLUMN) if c in X_values.columns]
    frame = X_values[numeric].astype("float64")
    if keys:
        grouped = frame.groupby([X_values[k].astype(object).fillna("unknown") for k in keys], sort=False)
        medians = grouped.transform("median")
    else:
        medians = pd.DataFrame({c: frame[c].median() for c in numeric}, index=frame.index)
    return medians.reindex(columns=list(features))


def contributions(model: TrainedModel, X: pd.DataFrame, include_bias: bool = False) -> pd.DataFrame:
    """Per-row, per-feature contributions in log-odds (positive = raises the predicted risk).

    `X` may be the snapshot rows or an already prepared matrix. The bias (the model's average
    log-odds, the same for every row) is dropped unless `include_bias`, then it is the `_bias`
    column; features + bias sum to the raw log-odds score.
    """
    matrix = prepare_matrix(X, model.features, model.categories)
    values = model.booster.predict(matrix, pred_contrib=True)
    frame = pd.DataFrame(values, index=matrix.index, columns=[*model.features, BIAS_COLUMN])
    return frame if include_bias else frame.drop(columns=BIAS_COLUMN)


def top_drivers(
    contrib: pd.DataFrame, X_values: pd.DataFrame, k: int = 3, outcome: str = "churn risk"
) -> list[list[dict[str, Any]]]:
    """For each row, the `k` features with the largest absolute contribution.

    Each driver is {feature, value, impact, sentence}: `value` is the row's raw feature value
    (from `X_values`, aligned by position), `sentence` compares it with the account's own past
    or with accounts of the same size band on the same date (`driver_sentence`), `impact` the contribution
    in log-odds rounded to 4
    decimals (positive = raises risk), sorted by |impact| descending. Features with zero
    contribution are not drivers, so a row can have fewer than `k`.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    contrib = contrib.drop(columns=[BIAS_COLUMN], errors="ignore")
    if len(contrib) != len(X_values):
        raise ValueError(f"contrib has {len(contrib)} rows but X_values has {len(X_values)}; pass the same rows.")
    missing = [c for c in contrib.columns if c not in X_values.columns]
    if missing:
        raise ValueError(f"X_values lacks the feature columns {missing}; pass the rows that were explained.")

    names = list(contrib.columns)
    impacts = contrib.to_numpy(dtype="float64")
    values = X_values[names].astype(object).to_numpy()
    medians = peer_medians(X_values, names).to_numpy(dtype="float64")
    ratio_columns = {f: r for f, r in _OWN_PAST.items() if r in X_values.columns}
    ratios = {f: X_values[r].astype("float64").to_numpy() for f, r in ratio_columns.items()}
    groups = X_values[PEER_COLUMN].astype(object).to_numpy() if PEER_COLUMN in X_values else None
    order = np.argsort(-np.abs(np.nan_to_num(impacts)), axis=1, kind="stable")[:, :k]
    out: list[list[dict[str, Any]]] = []
    for row in range(impacts.shape[0]):
        drivers = []
        for col in order[row]:
            impact = impacts[row, col]
            if not np.isfinite(impact) or impact == 0.0:
                continue
            feature, value = names[col], values[row, col]
            drivers.append(
                {
                    "feature": feature,
                    "value": json_value(value),
                    "impact": round(float(impact), 4),
                    "sentence": driver_sentence(
                        feature,
                        value,
                        impact,
                        outcome,
                        own_ratio=ratios[feature][row] if feature in ratios else None,
                        peer_median=medians[row, col],
                        peer_group=None if groups is None or _is_missing(groups[row]) else str(groups[row]),
                    ),
                }
            )
        out.append(drivers)
    return out


def family_subscores(contrib: pd.DataFrame, feature_families: Mapping[str, str]) -> pd.DataFrame:
    """Usage, billing, support and sentiment sub-scores, 0-100, 100 = healthy.

    Each is 100 x sigmoid(-s) = 100 / (1 + e^s), where s is the row's summed contribution of the
    family's features: 50 when the family is neutral, lower when it pushes churn risk up. Because
    they are built from the same contributions as the score, they explain it rather than second-
    guess it. A sub-score is missing (NA) when the model has no feature of that family (e.g. no
    NPS source means no sentiment score, rather than a misleading neutral 50).
    """
    contrib = contrib.drop(columns=[BIAS_COLUMN], errors="ignore")
    families = validate_feature_families(list(contrib.columns), feature_families)
    out = pd.DataFrame(index=contrib.index)
    for score, members in SUBSCORE_FAMILIES.items():
        cols: Sequence[str] = [f for f, fam in families.items() if fam in members]
        if cols:
            total = np.clip(contrib[list(cols)].sum(axis=1).to_numpy(dtype="float64"), -50, 50)
            scores = np.floor(100.0 / (1.0 + np.exp(total)) + 0.5).astype("int64")  # round half up
            out[f"{score}_score"] = pd.array(scores, dtype="Int64")
        else:
            out[f"{score}_score"] = pd.array([pd.NA] * len(contrib), dtype="Int64")
    return out
