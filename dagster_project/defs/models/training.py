"""What every model asset does (churn, expansion): champion/challenger retrain, backtest results
to `marts.mart_model_performance`, and the metadata and plots the Dagster UI shows.

Not an asset module: the model assets call `retrain_asset_result`.
"""

import dagster as dg
import pandas as pd

from dagster_project.core import clock
from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.defs.metadata import rounded
from dagster_project.defs.transform.project import dbt_project
from dagster_project.health import model_report, schemas
from dagster_project.ml import plots
from dagster_project.ml.backtest import ORACLE_NAME
from dagster_project.ml.dataset import NothingToLearn
from dagster_project.ml.recipe import PROVISIONAL, Recipe, retrain
from dagster_project.ml.snapshots import ORACLE_COLUMN, attach_oracle, read_snapshots

# The plots pool every fold's out-of-fold predictions; the backtest table and the *_auc entries
# are means of the per-fold values. Both are right, and they differ: the plots say which they show.
PLOT_NOTES = {
    "roc": "\n\nLegend AUCs: all folds' out-of-fold predictions pooled into one curve. The `backtest` table "
    "and `backtest_auc` are the mean of the per-fold AUCs, so the two can differ (a baseline that ranks "
    "folds differently from rows shows it most).",
    "reliability": "\n\nAll folds' out-of-fold predictions pooled.",
    "lift": "\n\nAll folds' out-of-fold predictions pooled.",
}


def targets_metadata(targets: pd.DataFrame) -> dict:
    """The SPEC targets as a table (one row per target, so none is cut off) and the unmet ones named."""
    unmet = targets.loc[targets["met"] == "NO", "target"].tolist()
    return {
        "targets": dg.MetadataValue.table(
            records=[dg.TableRecord({k: str(v) for k, v in row.items()}) for row in targets.to_dict("records")],
            schema=dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in targets.columns]),
        ),
        "targets_unmet": ", ".join(unmet) if unmet else "none",
    }


def write_performance(rows: pd.DataFrame) -> None:
    """Add one run's rows to the mart (a retry of the same run replaces its earlier rows)."""
    with connect(get_settings()) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        merged = model_report.merge_performance(schemas.read_mart(con, model_report.PERFORMANCE_MART), rows)
        schemas.write_mart(con, model_report.PERFORMANCE_MART, merged)


def retrain_asset_result(context: dg.AssetExecutionContext, recipe: Recipe, model: str) -> dg.MaterializeResult:
    """Retrain `model` (an artifacts sub-folder: churn, expansion) with `recipe`, champion/challenger,
    write its backtest to `mart_model_performance`, and describe it all in the asset's metadata.

    A label with nothing to learn (no positive, e.g. no expansion without subscriptions) skips the
    model: the asset succeeds, says why, and its `model_trained` check fails as a warning."""
    settings = get_settings()
    df, families = read_snapshots(dbt_project.manifest_path)
    # The ground truth is the true churn probability: an oracle for the churn label only.
    has_oracle = recipe.label.startswith("churn") and attach_oracle(df)
    try:
        outcome = retrain(
            recipe,
            df,
            list(families),
            families,
            settings.artifacts_dir / model,
            oracle_column=ORACLE_COLUMN if has_oracle else None,
        )
    except NothingToLearn as skipped:
        context.log.warning(f"{model}: skipped. {skipped}")
        return dg.MaterializeResult(
            metadata={"skipped": True, "decision": str(skipped), "backtest_folds": 0},
            check_results=[trained_check(model, False, str(skipped))],
        )
    context.log.info(outcome.reason)
    challenger = outcome.challenger
    metadata = {
        "model_version": challenger.version,
        "model_kind": outcome.model_kind,
        "candidate": challenger.kind,
        "promoted": outcome.promoted,
        "champion_version": challenger.version if outcome.promoted else outcome.champion_version,
        "decision": outcome.reason,
        "artifact": dg.MetadataValue.path(str(outcome.path)),
        "n_features": len(challenger.features),
        "windows": dg.MetadataValue.json(challenger.metadata["windows"]),
    }
    holdout = challenger.metadata["metrics"]
    if holdout:  # a provisional model has no holdout
        for metric in ("auc", "pr_auc", "brier", "ece"):
            metadata[f"holdout_{metric}"] = rounded(holdout[metric])
    checks = [trained_check(model, True, outcome.reason)]
    result = outcome.backtest
    if result is None:
        if outcome.model_kind == PROVISIONAL:
            metadata["weeks_needed_for_a_backtest"] = outcome.weeks_short
        context.log.warning(f"{model}: no walk-forward backtest this run. {outcome.reason}")
        return dg.MaterializeResult(metadata={**metadata, "backtest_folds": 0}, check_results=checks)
    write_performance(model_report.performance_rows(outcome, model, clock.now()))
    summary = result.summary()
    targets, lead_time = model_report.report(result, df, recipe.label, recipe.horizon_days)
    row = summary.loc[result.chosen]
    beaten_by = result.baselines_beating_the_model()
    if beaten_by:
        context.log.warning(f"{model}: a baseline ranks better than every candidate: {', '.join(beaten_by)}.")
    metadata.update(
        {
            "backtest_folds": len(result.folds),
            "candidate_choice": result.choice,
            "baselines_beating_the_model": ", ".join(beaten_by) or "none",
            "backtest_auc": rounded(row["auc"]),
            "backtest_pr_auc": rounded(row["pr_auc"]),
            "backtest_brier": rounded(row["brier"]),
            "backtest_ece": rounded(row["ece"]),
            "backtest_lift_top_decile": rounded(row["lift_top_decile"]),
            "backtest": dg.MetadataValue.md(model_report.summary_table(result).to_markdown()),
            **targets_metadata(model_report.targets_table(targets)),
            **{
                f"plot_{name}": dg.MetadataValue.md(
                    plots.markdown_image(png, name.replace("_", " ")) + PLOT_NOTES.get(name, "")
                )
                for name, png in model_report.backtest_plots(result).items()
            },
        }
    )
    if ORACLE_NAME in summary.index:
        metadata["oracle_auc"] = rounded(summary.loc[ORACLE_NAME, "auc"])
        metadata["auc_share_of_oracle"] = rounded(row["auc_share_of_oracle"])
    for name in [*result.candidates, *result.baseline_names]:
        metadata[f"{name}_auc"] = rounded(summary.loc[name, "auc"])
    if lead_time is not None:
        metadata["median_lead_time_days"] = lead_time
    return dg.MaterializeResult(metadata=metadata, check_results=checks)


def trained_check_spec(asset: list[str]) -> dg.AssetCheckSpec:
    """The non-blocking check that says whether a model asset trained a model this run."""
    return dg.AssetCheckSpec(
        "model_trained",
        asset=asset,
        description="Warns when the model was skipped because its label has nothing to learn "
        "(no positive, e.g. no expansion without subscriptions). Non-blocking: every mart still publishes.",
    )


def trained_check(model: str, passed: bool, reason: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name="model_trained",
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"model": model, "reason": reason},
    )
