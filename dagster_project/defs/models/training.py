"""What every model asset does (churn, expansion): champion/challenger retrain, backtest results
to `marts.mart_model_performance`, and the metadata and plots the Dagster UI shows.

Not an asset module: the model assets call `retrain_asset_result`.
"""

import dagster as dg
import pandas as pd

from dagster_project.core import clock
from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.defs.transform.project import dbt_project
from dagster_project.health import model_report, schemas
from dagster_project.ml import plots
from dagster_project.ml.backtest import MODEL_NAME, ORACLE_NAME
from dagster_project.ml.recipe import Recipe, retrain
from dagster_project.ml.snapshots import ORACLE_COLUMN, attach_oracle, read_snapshots


def write_performance(rows: pd.DataFrame) -> None:
    """Add one run's rows to the mart (a retry of the same run replaces its earlier rows)."""
    with connect(get_settings()) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        merged = model_report.merge_performance(schemas.read_mart(con, model_report.PERFORMANCE_MART), rows)
        schemas.write_mart(con, model_report.PERFORMANCE_MART, merged)


def retrain_asset_result(context: dg.AssetExecutionContext, recipe: Recipe, model: str) -> dg.MaterializeResult:
    """Retrain `model` (an artifacts sub-folder: churn, expansion) with `recipe`, champion/challenger,
    write its backtest to `mart_model_performance`, and describe it all in the asset's metadata."""
    settings = get_settings()
    df, families = read_snapshots(dbt_project.manifest_path)
    # The ground truth is the true churn probability: an oracle for the churn label only.
    has_oracle = recipe.label.startswith("churn") and attach_oracle(df)
    outcome = retrain(
        recipe,
        df,
        list(families),
        families,
        settings.artifacts_dir / model,
        oracle_column=ORACLE_COLUMN if has_oracle else None,
    )
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
    write_performance(model_report.performance_rows(outcome, model, clock.now()))
    summary = result.summary()
    checks, lead_time = model_report.report(result, df, recipe.label, recipe.horizon_days)
    row = summary.loc[MODEL_NAME]
    metadata.update(
        {
            "backtest_folds": len(result.folds),
            "backtest_auc": float(row["auc"]),
            "backtest_pr_auc": float(row["pr_auc"]),
            "backtest_brier": float(row["brier"]),
            "backtest_ece": float(row["ece"]),
            "backtest_lift_top_decile": float(row["lift_top_decile"]),
            "backtest": dg.MetadataValue.md(model_report.summary_table(result).to_markdown()),
            "targets": dg.MetadataValue.md(model_report.targets_table(checks).to_markdown(index=False)),
            **{
                f"plot_{name}": dg.MetadataValue.md(plots.markdown_image(png, name.replace("_", " ")))
                for name, png in model_report.backtest_plots(result).items()
            },
        }
    )
    if ORACLE_NAME in summary.index:
        metadata["oracle_auc"] = float(summary.loc[ORACLE_NAME, "auc"])
        metadata["auc_share_of_oracle"] = float(row["auc_share_of_oracle"])
    for baseline in result.baseline_names:
        metadata[f"{baseline}_auc"] = float(summary.loc[baseline, "auc"])
    if lead_time is not None:
        metadata["median_lead_time_days"] = lead_time
    return dg.MaterializeResult(metadata=metadata)
