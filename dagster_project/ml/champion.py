"""Champion / challenger: a retrained model replaces the champion only if its backtest is not worse.

"Not worse" (SPEC section 5), on the fold-averaged walk-forward backtest (`BacktestResult.summary()`
row of the model, or any mapping with `auc` and `brier`):

    challenger AUC   >= champion AUC   - auc_tolerance      (ranking: who gets a call)
    challenger Brier <= champion Brier + brier_tolerance    (probabilities: what the score says)

Both must hold. The tolerances absorb fold-to-fold noise (a retrain on one more week of data
should not be blocked by a 0.001 AUC wobble) while still refusing a real regression; with ~500
accounts, the spread of AUC over folds is typically 0.01-0.03, so 0.005 is deliberately strict.
The comparison is only fair when both summaries come from backtests on the same data (same
snapshots, same origins): `recipe.retrain` backtests the champion's recipe again alongside the
challenger's rather than reuse an old number. When there is no champion, the challenger wins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

DEFAULT_AUC_TOLERANCE = 0.005
DEFAULT_BRIER_TOLERANCE = 0.002
# Key under which the backtest summary is stored in a model's metadata.json.
BACKTEST_METADATA_KEY = "backtest"


def _metric(summary: Mapping[str, Any], name: str, who: str) -> float:
    if name not in summary:
        raise ValueError(f"The {who} backtest summary has no {name!r}; pass the model row of BacktestResult.summary().")
    value = summary[name]
    return math.nan if value is None else float(value)


def should_promote(
    challenger_summary: Mapping[str, Any],
    champion_summary: Mapping[str, Any] | None,
    tolerance: float = DEFAULT_AUC_TOLERANCE,
    brier_tolerance: float = DEFAULT_BRIER_TOLERANCE,
) -> tuple[bool, str]:
    """(promote?, reason in one sentence). See the module docstring for the rule.

    A challenger with an undefined (NaN) AUC or Brier is never promoted. A champion without a
    usable summary (None, or NaN metrics, e.g. a model trained before backtests were stored)
    cannot defend its title: the challenger is promoted.
    """
    auc = _metric(challenger_summary, "auc", "challenger")
    brier = _metric(challenger_summary, "brier", "challenger")
    if math.isnan(auc) or math.isnan(brier):
        return False, f"Challenger backtest is incomplete (AUC {auc}, Brier {brier}): not promoted."
    if champion_summary is None:
        return True, f"No champion yet: challenger promoted (backtest AUC {auc:.4f}, Brier {brier:.4f})."
    champ_auc = _metric(champion_summary, "auc", "champion")
    champ_brier = _metric(champion_summary, "brier", "champion")
    if math.isnan(champ_auc) or math.isnan(champ_brier):
        return True, "The champion has no usable backtest: challenger promoted."

    numbers = f"AUC {auc:.4f} vs {champ_auc:.4f}, Brier {brier:.4f} vs {champ_brier:.4f}"
    if auc < champ_auc - tolerance:
        return False, (
            f"Challenger ranks worse than the champion ({numbers}; AUC tolerance {tolerance}): kept the champion."
        )
    if brier > champ_brier + brier_tolerance:
        return False, (
            f"Challenger's probabilities are worse than the champion's ({numbers}; Brier tolerance "
            f"{brier_tolerance}): kept the champion."
        )
    return True, f"Challenger is not worse than the champion ({numbers}): promoted."
