"""What a model run reports, once, for the model assets and `ahw evaluate`: the backtest rows of
`mart_model_performance`, the summary and targets tables, the four backtest plots and the lead time.
Pure Python: the callers attach the results to Dagster metadata or print them."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from dagster_project.health import schemas
from dagster_project.health.lead_time import backtest_lead_times
from dagster_project.ml import plots
from dagster_project.ml.backtest import ORACLE_NAME, BacktestResult, check_targets
from dagster_project.ml.recipe import RetrainOutcome

PERFORMANCE_MART = "mart_model_performance"
SUMMARY_COLUMNS = ["auc", "pr_auc", "precision_at_k", "lift_top_decile", "brier", "ece", "n", "positives"]
SUMMARY_FORMATS = {
    "auc": "{:.3f}",
    "pr_auc": "{:.3f}",
    "precision_at_k": "{:.3f}",
    "lift_top_decile": "{:.2f}",
    "brier": "{:.4f}",
    "ece": "{:.4f}",
    "n": "{:,.0f}",
    "positives": "{:,.0f}",
}


def performance_rows(outcome: RetrainOutcome, model: str, evaluated_at: dt.datetime) -> pd.DataFrame:
    """The backtest of one retrain run in the shape of `mart_model_performance`."""
    frame = outcome.backtest.to_frame().rename(
        columns={"model_name": "candidate", "model_kind": "candidate_kind", "model_version": "fold_model_version"}
    )
    frame["model"] = model
    frame["run_version"] = outcome.challenger.version
    frame["evaluated_at"] = evaluated_at
    frame["promoted"] = outcome.promoted
    return frame[schemas.columns(PERFORMANCE_MART)]


def merge_performance(earlier: pd.DataFrame | None, rows: pd.DataFrame) -> pd.DataFrame:
    """The mart after adding one run's rows: an earlier write of the same run (a retry) is replaced."""
    if earlier is None:
        return rows
    earlier = earlier[~earlier["run_version"].isin(rows["run_version"].unique())]
    return pd.concat([earlier, rows], ignore_index=True) if len(earlier) else rows


def summary_table(result: BacktestResult) -> pd.DataFrame:
    """Mean metrics over the folds, one row per candidate, formatted as text."""
    table = result.summary()[SUMMARY_COLUMNS].copy()
    for column, fmt in SUMMARY_FORMATS.items():
        table[column] = table[column].map(lambda v, f=fmt: "n/a" if pd.isna(v) else f.format(v))
    table.index.name = f"mean of {len(result.folds)} folds"
    return table


def targets_table(checks: pd.DataFrame) -> pd.DataFrame:
    """The SPEC targets with the observed value and whether each is met (n/a when not measurable)."""
    return pd.DataFrame(
        {
            "target": checks["target"],
            "threshold": checks["threshold"].astype(str),
            "observed": ["n/a" if math.isnan(v) else f"{v:.4g}" for v in checks["observed"]],
            "met": ["n/a" if p is None else "yes" if p else "NO" for p in checks["passed"]],
        }
    )


def backtest_plots(result: BacktestResult) -> dict[str, bytes]:
    """ROC, reliability, lift by decile (pooled out-of-fold predictions) and mean gain importance, as PNGs."""
    preds = result.predictions()
    scores = {name: preds[name].to_numpy() for name in result.model_names}
    calibrated = {n: scores[n] for n in (result.chosen, ORACLE_NAME) if n in scores}
    return {
        "roc": plots.roc_png(preds["y"], scores, result.chosen),
        "reliability": plots.reliability_png(preds["y"], calibrated),
        "lift": plots.lift_png(preds["y"], scores, result.chosen),
        "feature_importance": plots.feature_importance_png(result.feature_importance().to_dict()),
    }


def report(
    result: BacktestResult, df: pd.DataFrame, label: str, horizon_days: int
) -> tuple[pd.DataFrame, float | None]:
    """The targets check of a backtest and the median lead time (churn labels only, else None)."""
    lead_time = None
    if label.startswith("churn"):
        _, lead_time = backtest_lead_times(result, df, horizon_days)
    return check_targets(result.summary(), lead_time), lead_time
