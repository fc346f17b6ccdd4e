"""The churn model: champion/challenger retrain with walk-forward backtests (see `training.py`)."""

import dagster as dg

from dagster_project.core.settings import get_settings
from dagster_project.defs.models.training import retrain_asset_result
from dagster_project.ingest.landing import SIM_SCHEMA
from dagster_project.ml.recipe import Recipe
from dagster_project.ml.snapshots import CHURN_LABEL


def churn_recipe() -> Recipe:
    """The production recipe of the churn model (train.DEFAULT_PARAMS unless overridden here)."""
    return Recipe(label=CHURN_LABEL, horizon_days=get_settings().churn_horizon_days)


@dg.asset(
    key=["models", "churn_model"],
    group_name="models",
    deps=[dg.AssetKey(["marts", "ml_account_snapshots"]), dg.AssetKey([SIM_SCHEMA, "ground_truth_account_weeks"])],
    kinds={"lightgbm", "python"},
    description="LightGBM churn model (isotonic calibration on a later period) retrained on the newest labels. "
    "Its recipe is backtested walk-forward against the baselines (and the oracle on simulated data); the "
    "challenger replaces the champion only if its backtest is not worse. Results in marts.mart_model_performance.",
)
def churn_model(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return retrain_asset_result(context, churn_recipe(), "churn")
