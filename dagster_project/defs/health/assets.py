"""Health: score accounts with the champion churn model and publish the customer-success marts.

Thin wrappers: the assets read the warehouse, call `dagster_project.ml` and
`dagster_project.health`, write the marts through `health.schemas.write_mart` and attach metadata.
"""

import json

import dagster as dg
import pandas as pd

from dagster_project.core import clock
from dagster_project.core.holdout import HOLDOUT
from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.defs.metadata import mart_spec_metadata, table_metadata
from dagster_project.defs.transform.project import dbt_project
from dagster_project.health import alerts, history, outcomes, schemas, score
from dagster_project.health.bands import BANDS, BandEdges
from dagster_project.health.champion import load_champion
from dagster_project.ml.snapshots import read_snapshots
from dagster_project.ml.uplift import UpliftModel

HISTORY = ["marts", "mart_account_health_history"]
SNAPSHOTS = dg.AssetKey(["marts", "ml_account_snapshots"])
CHURN_MODEL = dg.AssetKey(["models", "churn_model"])
HEALTH_GROUP = "health"


@dg.asset(
    group_name=HEALTH_GROUP,
    key=HISTORY,
    deps=[CHURN_MODEL, SNAPSHOTS],
    kinds={"duckdb", "python"},
    metadata=mart_spec_metadata("mart_account_health_history"),
    description="Account x as_of_date health scores: every weekly snapshot (backfilled on the first run) and "
    "the current one, with hysteresis bands, 7-day change, drivers. Each run replaces the dates it scores.",
)
def mart_account_health_history(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings()
    model = load_champion(settings.artifacts_dir / "churn", "churn")
    edges = BandEdges(settings.health_red_max, settings.health_yellow_max, settings.health_band_margin)
    df, _ = read_snapshots(dbt_project.manifest_path)
    if df.empty:
        raise dg.Failure(
            "marts.ml_account_snapshots is empty: there is no snapshot to score. Run the dbt models first."
        )
    with connect(settings, read_only=True) as con:
        existing = schemas.read_mart(con, "mart_account_health_history")
    existing = (
        existing if existing is not None else pd.DataFrame(columns=schemas.columns("mart_account_health_history"))
    )
    df["as_of_date"] = pd.to_datetime(df["as_of_date"])
    current_date = df["as_of_date"].max()
    dates = history.dates_to_score(df["as_of_date"].unique(), existing["as_of_date"].unique(), current_date)
    rows = df[df["as_of_date"].isin(dates)].reset_index(drop=True)

    scored = score.score_accounts(model, rows, red_max=edges.red_max, yellow_max=edges.yellow_max)
    scored = scored.rename(columns={"health_band": "score_band"})
    scored["arr_usd"] = rows["arr_usd"].to_numpy()
    scored["days_to_renewal"] = rows["days_to_renewal"].to_numpy()
    scored["in_training_window"] = scored["as_of_date"] <= model.last_fitted_as_of_date
    scored["is_backfilled"] = scored["as_of_date"] != current_date
    scored["scored_at"] = clock.now()

    full = history.merge_history(existing, scored, edges)
    with connect(settings) as con:
        schemas.write_mart(con, "mart_account_health_history", full[schemas.columns("mart_account_health_history")])
    return dg.MaterializeResult(
        metadata={
            **table_metadata("marts.mart_account_health_history"),
            "dates_scored": len(dates),
            "rows_scored": len(scored),
            "backfilled_rows": int(scored["is_backfilled"].sum()),
            "first_as_of_date": str(full["as_of_date"].min().date()),
            "last_as_of_date": str(full["as_of_date"].max().date()),
            "model_version": model.version,
        }
    )


@dg.asset(
    group_name=HEALTH_GROUP,
    key=["marts", "mart_health_alerts"],
    deps=[dg.AssetKey(HISTORY)],
    kinds={"duckdb", "python"},
    metadata=mart_spec_metadata("mart_health_alerts"),
    description="Alerts derived from the score history: week-over-week drops of 1-10, 11-20 and 21+ points and "
    "band worsening, each with playbook, owner role, respond_by and drivers; raised once per event. A salted "
    "hash puts each account-horizon in the playbook group or the holdout (AHW_HOLDOUT_SHARE: no outreach).",
)
def mart_health_alerts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings()
    policy = alerts.AlertPolicy(
        minor_min=settings.alert_minor_drop_points,
        moderate_min=settings.alert_moderate_drop_points,
        major_min=settings.alert_major_drop_points,
    )
    with connect(settings, read_only=True) as con:
        hist = con.sql(f"SELECT {', '.join(alerts.HISTORY_COLUMNS)} FROM marts.mart_account_health_history").df()
    raised = outcomes.assign_alert_groups(
        alerts.derive_alerts(hist, policy),
        share=settings.holdout_share,
        salt=settings.holdout_salt,
        horizon_days=settings.churn_horizon_days,
    )
    with connect(settings) as con:
        schemas.write_mart(con, "mart_health_alerts", raised[schemas.columns("mart_health_alerts")])
    recent = raised.copy()
    recent["week"] = pd.to_datetime(recent["alert_date"]).dt.to_period("W-SUN").dt.end_time.dt.date
    weekly = recent.pivot_table(index="week", columns="severity", values="alert_id", aggfunc="count", fill_value=0)
    return dg.MaterializeResult(
        metadata={
            **table_metadata("marts.mart_health_alerts"),
            **{f"alerts_{k}": int(v) for k, v in raised["severity"].value_counts().items()},
            "alerts_holdout": int((raised["treatment_group"] == HOLDOUT).sum()),
            "holdout_share": settings.holdout_share,
            "alerts_per_week_last_8": dg.MetadataValue.md(weekly.tail(8).to_markdown()),
        }
    )


@dg.asset(
    group_name=HEALTH_GROUP,
    key=["marts", "mart_account_health"],
    deps=[
        dg.AssetKey(HISTORY),
        dg.AssetKey(["marts", "mart_segments"]),
        dg.AssetKey(["marts", "mart_expansion_opportunities"]),
        dg.AssetKey(["models", "uplift_model"]),
    ],
    kinds={"duckdb", "python"},
    metadata=mart_spec_metadata("mart_account_health"),
    description="One row per active account on the newest snapshot: calibrated churn probability, 0-100 health "
    "score and band (with hysteresis), sub-scores, 7-day change, top 3 drivers in plain words, segment, "
    "expansion score, uplift score (what a playbook would take off the churn probability), ARR, days to renewal, "
    "model version.",
)
def mart_account_health(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings()
    with connect(settings, read_only=True) as con:
        latest = con.sql(
            """
            SELECT h.*, s.segment_name, e.score AS expansion_score
            FROM marts.mart_account_health_history h
            LEFT JOIN marts.mart_segments s USING (account_id)
            LEFT JOIN marts.mart_expansion_opportunities e USING (account_id)
            WHERE h.as_of_date = (SELECT max(as_of_date) FROM marts.mart_account_health_history)
            """
        ).df()
    latest["uplift_score"] = _uplift_scores(settings, latest)
    latest = latest[schemas.columns("mart_account_health")]
    with connect(settings) as con:
        schemas.write_mart(con, "mart_account_health", latest)
    bands = latest["health_band"].value_counts().to_dict()
    preview = latest.sort_values("churn_probability", ascending=False).head(10)
    preview = preview.assign(
        top_driver=[json.loads(d)[0]["sentence"] if json.loads(d) else "" for d in preview["top_drivers"]]
    )
    return dg.MaterializeResult(
        metadata={
            **table_metadata("marts.mart_account_health"),
            "as_of_date": str(pd.Timestamp(latest["as_of_date"].max()).date()),
            "model_version": str(latest["model_version"].iloc[0]),
            **{f"accounts_{band}": int(bands.get(band, 0)) for band in BANDS},
            "most_at_risk": dg.MetadataValue.md(
                preview[["account_id", "health_score", "health_band", "churn_probability", "top_driver"]]
                .round({"churn_probability": 3})
                .to_markdown(index=False)
            ),
        }
    )


def _uplift_scores(settings, latest: pd.DataFrame) -> pd.Series:
    """The uplift model's score of each current account; NULL without an uplift model."""
    model = UpliftModel.load(settings.artifacts_dir / "uplift")
    if model is None or latest.empty:
        return pd.Series(float("nan"), index=latest.index)
    df, _ = read_snapshots(dbt_project.manifest_path)
    df["as_of_date"] = pd.to_datetime(df["as_of_date"])
    current = latest[["account_id", "as_of_date"]].assign(as_of_date=lambda f: pd.to_datetime(f["as_of_date"]))
    rows = current.merge(df, on=["account_id", "as_of_date"], how="left")
    return pd.Series(model.predict(rows), index=latest.index)
