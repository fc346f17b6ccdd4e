"""Health: score every active account with the champion churn model and publish the health marts.

Thin wrappers: the assets gather inputs from the warehouse, call `dagster_project.ml`,
write the results back and attach metadata.
"""


from datetime import datetime, timezone

import dagster as dg

from dagster_project.defs.transform.project import dbt_project
from dagster_project.ml import artifacts, score
from dagster_project.ml.dataset import latest_snapshot
from dagster_project.settings import get_settings
from dagster_project.snapshots import read_snapshots
from dagster_project.warehouse import connect


@dg.asset(
    group_name="marts",
    key=["marts", "mart_account_health"],
    deps=[dg.AssetKey("churn_model"), dg.AssetKey(["marts", "ml_account_snapshots"])],
    kinds={"duckdb"},
    description="One row per active account on the newest snapshot: calibrated churn probability, "
    "0-100 health score and band, sub-scores, top 3 drivers in plain words, model version.",
)
def mart_account_health(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings()
    champion_dir = settings.artifacts_dir / "churn"
    if artifacts.champion_version(champion_dir) is None:
        raise dg.Failure(
            f"No champion churn model in {champion_dir}: run the full_refresh or weekly_retrain job "
            "once to train one (make run does), or point AHW_ARTIFACTS_DIR at an existing model folder."
        )
    model = artifacts.load_model(champion_dir)
    df, _ = read_snapshots(dbt_project.manifest_path)
    latest = latest_snapshot(df)
    scored = score.score_accounts(model, latest)
    scored["scored_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
    with connect(settings) as con:
        con.register("scored", scored)
        con.execute(
            "CREATE OR REPLACE TABLE marts.mart_account_health AS "
            "SELECT * REPLACE (CAST(top_drivers AS JSON) AS top_drivers) FROM scored"
        )
        con.unregister("scored")
    bands = scored["health_band"].value_counts().to_dict()
    preview = scored.sort_values("churn_probability", ascending=False).head(10)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(scored),
            "as_of_date": str(latest["as_of_date"].max()),
            "model_version": model.metadata["version"],
            "accounts_red": int(bands.get("red", 0)),
            "accounts_yellow": int(bands.get("yellow", 0)),
            "accounts_green": int(bands.get("green", 0)),
            "most_at_risk": dg.MetadataValue.md(
                preview[["account_id", "health_score", "health_band", "churn_probability"]].to_markdown(index=False)
            ),
        }
    )
