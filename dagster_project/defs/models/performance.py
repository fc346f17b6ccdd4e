"""`marts.mart_model_performance` as an asset: the model assets append their backtests to it while
they train (`training.py`); this asset, downstream of both, puts the table in the graph between the
models and publishing, with its columns and the latest run's summary."""

import dagster as dg

from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect, table_exists
from dagster_project.defs.metadata import markdown_table, mart_spec_metadata, table_metadata
from dagster_project.health import model_report, schemas

TABLE = f"marts.{model_report.PERFORMANCE_MART}"


@dg.asset(
    key=["marts", model_report.PERFORMANCE_MART],
    group_name="models",
    deps=[dg.AssetKey(["models", "churn_model"]), dg.AssetKey(["models", "expansion_model"])],
    kinds={"duckdb", "python"},
    metadata=mart_spec_metadata(model_report.PERFORMANCE_MART),
    description="Model x backtest fold x candidate (the model, its baselines, the oracle on simulated data): AUC, "
    "PR-AUC, precision@k, lift in the top decile, Brier score, calibration error, n, positives. The model assets "
    "append each retrain's walk-forward backtest; this asset checks the table is there and summarizes it.",
)
def mart_model_performance(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    latest = None
    with connect(get_settings()) as con:
        if not table_exists(con, "marts", model_report.PERFORMANCE_MART):
            # No backtest has run yet (a history too short for one, or no model trained): the mart is
            # published empty, and says why.
            schemas.write_mart(con, model_report.PERFORMANCE_MART, schemas.empty(model_report.PERFORMANCE_MART))
        else:
            latest = con.sql(
                f"""
                SELECT model, candidate, count(*) AS folds, avg(auc) AS mean_auc, avg(brier) AS mean_brier
                FROM {TABLE}
                WHERE (model, run_version) IN (
                    SELECT model, arg_max(run_version, evaluated_at) FROM {TABLE} GROUP BY model
                )
                GROUP BY model, candidate ORDER BY model, mean_auc DESC
                """
            ).df()
    if latest is None:
        reason = "No walk-forward backtest has run yet: see the model assets' decision metadata."
        context.log.warning(reason)
        return dg.MaterializeResult(metadata={**table_metadata(TABLE), "empty_because": reason})
    return dg.MaterializeResult(
        metadata={**table_metadata(TABLE), "latest_backtests": markdown_table(latest)},
    )
