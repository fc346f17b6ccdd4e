"""What every model asset does (churn, expansion): champion/challenger retrain, backtest results
to `marts.mart_model_performance`, and the metadata and plots the Dagster UI shows.

Not an asset module: the model assets call `retrain_asset_result`.
"""

from datetime import datetime

import dagster as dg
import pandas as pd

from dagster_project.core import clock
from dagster_project.defs.transform.project import dbt_project
from dagster_project.health import schemas
from dagster_project.ml import plots
from dagster_project.ml.backtest import MODEL_NAME, ORACLE_NAME, BacktestResult, check_targets, lead_times, out_of_sample_history
from dagster_project.ml.recipe import Recipe, RetrainOutcome, retrain
from dagster_project.settings import get_settings
from dagster_project.snapshots import ORACLE_COLUMN, attach_oracle, read_snapshots
from dagster_project.warehouse import connect

PERFORMANCE_MART = "mart_model_performance"


def performance_rows(outcome: RetrainOutcome, model: str, evaluated_at: datetime) -> pd.DataFrame:
    """The backtest of one retrain run in the shape of `mart_model_performance`."""
    frame = outcome.backtest.to_frame().rename(
        columns={"model_name": "candidate", "model_kind": "candidate_kind", "model_version": "fold_model_version"})
    frame["model"] = model
    frame["run_version"] = outcome.challenger.version
    frame["evaluated_at"] = evaluated_at
    frame["promoted"] = outcome.promoted
    return frame[schemas.columns(PERFORMANCE_MART)]


def write_performance(rows: pd.DataFrame) -> None:
    """Add one run's rows to the mart, replacing an earlier write of the same run (a retry)."""
    with connect(get_settings()) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        earlier = schemas.read_mart(con, PERFORMANCE_MART)
        if earlier is not None:
            earlier = earlier[~earlier["run_version"].isin(rows["run_version"].unique())]
            rows = pd.concat([earlier, rows], ignore_index=True) if len(earlier) else rows
        schemas.write_mart(con, PERFORMANCE_MART, rows)


def _summary_markdown(result: BacktestResult) -> str:
    summary = result.summary()
    columns = ["auc", "pr_auc", "precision_at_k", "lift_top_decile", "brier", "ece", "positives"]
    table = summary[columns].copy()
    for column in columns:
        table[column] = table[column].map(lambda v: "n/a" if pd.isna(v) else f"{v:.3f}")
    table.index.name = f"mean of {len(result.folds)} folds"
    return table.to_markdown()


def _targets_markdown(checks: pd.DataFrame) -> str:
    lines = ["| target | threshold | observed | met |", "|---|---|---|---|"]
    for row in checks.itertuples(index=False):
        met = "n/a" if row.passed is None else "yes" if row.passed else "**no**"
        lines.append(f"| {row.target} | {row.threshold} | {row.observed:.3f} | {met} |")
    return "\n".join(lines)


def _plots(result: BacktestResult) -> dict[str, dg.MetadataValue]:
    """ROC, reliability, lift by decile (pooled out-of-fold predictions) and gain importance."""
    preds = result.predictions()
    scores = {name: preds[name].to_numpy() for name in result.model_names}
    calibrated = {n: scores[n] for n in (MODEL_NAME, ORACLE_NAME) if n in scores}
    return {
        "plot_roc": dg.MetadataValue.md(plots.markdown_image(plots.roc_png(preds["y"], scores, MODEL_NAME), "ROC")),
        "plot_reliability": dg.MetadataValue.md(
            plots.markdown_image(plots.reliability_png(preds["y"], calibrated), "reliability curve")),
        "plot_lift": dg.MetadataValue.md(
            plots.markdown_image(plots.lift_png(preds["y"], scores, MODEL_NAME), "lift by decile")),
        "plot_feature_importance": dg.MetadataValue.md(plots.markdown_image(
            plots.feature_importance_png(result.feature_importance().to_dict()), "feature importance")),
    }


def retrain_asset_result(context: dg.AssetExecutionContext, recipe: Recipe, model: str) -> dg.MaterializeResult:
    """Retrain `model` (an artifacts sub-folder: churn, expansion) with `recipe`, champion/challenger,
    write its backtest to `mart_model_performance`, and describe it all in the asset's metadata."""
    settings = get_settings()
    df, families = read_snapshots(dbt_project.manifest_path)
    # The ground truth is the true churn probability: an oracle for the churn label only.
    has_oracle = recipe.label.startswith("churn") and attach_oracle(df)
    outcome = retrain(recipe, df, list(families), families, settings.artifacts_dir / model,
                      oracle_column=ORACLE_COLUMN if has_oracle else None)
    context.log.info(outcome.reason)
    holdout = outcome.challenger.metadata["metrics"]
    metadata = {
        "model_version": outcome.challenger.version,
        "promoted": outcome.promoted,
        "champion_version": outcome.challenger.version if outcome.promoted else outcome.champion_version,
        "decision": outcome.reason,
        "artifact": dg.MetadataValue.path(str(outcome.path)),
        "holdout_auc": float(holdout["auc"]),
        "holdout_pr_auc": float(holdout["pr_auc"]),
        "holdout_brier": float(holdout["brier"]),
        "holdout_ece": float(holdout["ece"]),
        "n_features": len(outcome.challenger.features),
        "windows": dg.MetadataValue.json(outcome.challenger.metadata["windows"]),
    }
    result = outcome.backtest
    if result is None:
        context.log.warning(f"{model}: no walk-forward backtest this run. {outcome.reason}")
        return dg.MaterializeResult(metadata={**metadata, "backtest_folds": 0})
    write_performance(performance_rows(outcome, model, clock.now()))
    summary = result.summary()
    lead_time = None
    if recipe.label.startswith("churn"):
        # Lead time on out-of-sample scores: each snapshot scored by the newest fold model that
        # could have existed on its date.
        history = out_of_sample_history(result, df)
        churns = df.loc[df["churn_date"].notna(), ["account_id", "churn_date"]].drop_duplicates()
        times = lead_times(history, churns, lookback_days=recipe.horizon_days)
        flagged = times["lead_time_days"].dropna()
        lead_time = float(flagged.median()) if len(flagged) else float("nan")
    checks = check_targets(summary, lead_time)
    row = summary.loc[MODEL_NAME]
    metadata.update({
        "backtest_folds": len(result.folds),
        "backtest_auc": float(row["auc"]),
        "backtest_pr_auc": float(row["pr_auc"]),
        "backtest_brier": float(row["brier"]),
        "backtest_ece": float(row["ece"]),
        "backtest_lift_top_decile": float(row["lift_top_decile"]),
        "backtest": dg.MetadataValue.md(_summary_markdown(result)),
        "targets": dg.MetadataValue.md(_targets_markdown(checks)),
        **_plots(result),
    })
    if ORACLE_NAME in summary.index:
        metadata["oracle_auc"] = float(summary.loc[ORACLE_NAME, "auc"])
        metadata["auc_share_of_oracle"] = float(row["auc_share_of_oracle"])
    for baseline in result.baseline_names:
        metadata[f"{baseline}_auc"] = float(summary.loc[baseline, "auc"])
    if lead_time is not None:
        metadata["median_lead_time_days"] = lead_time
    return dg.MaterializeResult(metadata=metadata)
