"""The churn model: champion/challenger retrain with walk-forward backtests (see `training.py`)."""

import dagster as dg

from dagster_project.core.settings import get_settings
from dagster_project.defs.models.training import retrain_asset_result, trained_check_spec
from dagster_project.ingest.landing import SIM_SCHEMA
from dagster_project.ml.recipe import Recipe
from dagster_project.ml.snapshots import CHURN_LABEL


def churn_recipe() -> Recipe:
    """The production recipe of the churn model (train.DEFAULT_PARAMS unless overridden here)."""
    settings = get_settings()
    return Recipe(
        label=CHURN_LABEL,
        horizon_days=settings.churn_horizon_days,
        with_purchase_baselines=settings.churn_definition in ("activity", "dormancy"),
    )


@dg.asset(
    key=["models", "churn_model"],
    group_name="models",
    deps=[dg.AssetKey(["marts", "ml_account_snapshots"]), dg.AssetKey([SIM_SCHEMA, "ground_truth_account_weeks"])],
    kinds={"lightgbm", "python"},
    check_specs=[trained_check_spec(["models", "churn_model"])],
    description="Churn model: the best of logistic regression, LightGBM and their blend in a walk-forward "
    "backtest against the baselines (and the oracle on simulated data), calibrated on a later period and "
    "retrained on the newest labels; the challenger replaces the champion only if its backtest is not worse. "
    "A history too short for a backtest gets a provisional model. Results in marts.mart_model_performance.",
)
def churn_model(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return retrain_asset_result(context, churn_recipe(), "churn")
