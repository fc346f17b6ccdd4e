"""Expansion: a LightGBM model on `expanded_within_90d` and the expansion opportunities mart.

Thin wrappers: training is the models' shared champion/challenger retrain (`defs/models/training.py`), scoring
`health.score.score_expansion`, the tiers and projected ARR `health.expansion`.
"""

import dagster as dg

from dagster_project.core import clock
from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.defs.metadata import markdown_table, mart_spec_metadata, table_metadata
from dagster_project.defs.models.training import retrain_asset_result, trained_check_spec
from dagster_project.defs.transform.project import dbt_project
from dagster_project.health import expansion, schemas, score
from dagster_project.health.champion import load_champion
from dagster_project.ml import artifacts
from dagster_project.ml.recipe import Recipe
from dagster_project.ml.snapshots import read_snapshots
from dagster_project.ml.train import predict_proba

EXPANSION_LABEL = "expanded_within_90d"


@dg.asset(
    key=["models", "expansion_model"],
    group_name="models",
    deps=[dg.AssetKey(["marts", "ml_account_snapshots"])],
    kinds={"lightgbm", "python"},
    check_specs=[trained_check_spec(["models", "expansion_model"])],
    description="Expansion model on expanded_within_90d (MRR +10 % or more seats within 90 days): the best "
    "candidate of a walk-forward backtest, calibrated on a later period; the challenger replaces the champion "
    "only if its backtest is not worse. Skipped (with a warning check) when the label has no positive, e.g. "
    "without subscriptions. Results in marts.mart_model_performance.",
)
def expansion_model(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    recipe = Recipe(label=EXPANSION_LABEL, horizon_days=get_settings().churn_horizon_days)
    return retrain_asset_result(context, recipe, "expansion")


@dg.asset(
    group_name="health",
    key=["marts", "mart_expansion_opportunities"],
    deps=[dg.AssetKey(["models", "expansion_model"]), dg.AssetKey(["marts", "ml_account_snapshots"])],
    kinds={"duckdb", "python"},
    metadata=mart_spec_metadata("mart_expansion_opportunities"),
    description="One row per active account: expansion score 0-100, probability of close, projected ARR uplift, "
    "signals in words, priority tier (High > 80, Medium 50-80, Low < 50), status and created date.",
)
def mart_expansion_opportunities(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings()
    root = settings.artifacts_dir / "expansion"
    if artifacts.champion_version(root) is None:
        # No expansion model (e.g. no subscriptions, so no expansion label): the mart is published
        # empty, and says why.
        with connect(settings) as con:
            schemas.write_mart(con, "mart_expansion_opportunities", schemas.empty("mart_expansion_opportunities"))
        reason = f"No expansion model in {root}: the expansion_model asset skipped training (see its metadata)."
        context.log.warning(reason)
        return dg.MaterializeResult(metadata={"dagster/row_count": 0, "empty_because": reason})
    model = load_champion(root, "expansion")
    df, _ = read_snapshots(dbt_project.manifest_path)
    current = df[df["as_of_date"] == df["as_of_date"].max()].reset_index(drop=True)
    scored = score.score_expansion(model, current)
    scored["priority_tier"] = expansion.priority_tier(scored["score"])
    scored["projected_arr"] = expansion.projected_arr(current["arr_usd"], scored["poc"], scored["priority_tier"])
    with connect(settings, read_only=True) as con:
        previous = schemas.read_mart(con, "mart_expansion_opportunities", "account_id, created_date, priority_tier")
    opportunities = expansion.track_status(scored, previous, clock.now().date())
    with connect(settings) as con:
        schemas.write_mart(
            con, "mart_expansion_opportunities", opportunities[schemas.columns("mart_expansion_opportunities")]
        )
    tiers = opportunities["priority_tier"].value_counts().to_dict()
    top = opportunities.sort_values("projected_arr", ascending=False).head(10)
    return dg.MaterializeResult(
        metadata={
            **table_metadata("marts.mart_expansion_opportunities"),
            **{f"tier_{t.lower()}": int(tiers.get(t, 0)) for t in expansion.TIERS},
            "projected_arr_high_medium_usd": round(
                float(opportunities.loc[opportunities["priority_tier"] != "Low", "projected_arr"].sum()), 2
            ),
            "model_version": model.version,
            "top_opportunities": markdown_table(
                top[["account_id", "score", "poc", "projected_arr", "priority_tier", "status"]]
            ),
        }
    )


@dg.asset(
    group_name="health",
    key=["marts", "mart_expansion_opportunity_history"],
    deps=[dg.AssetKey(["models", "expansion_model"]), dg.AssetKey(["marts", "ml_account_snapshots"])],
    kinds={"duckdb", "python"},
    metadata=mart_spec_metadata("mart_expansion_opportunity_history"),
    description="Every expansion opportunity the champion's scores open over the snapshot history (a run at "
    "Medium or High tier) and how it ended: won (expanded within the horizon), lost (churned), expired, open. "
    "Metadata: conversion by priority tier.",
)
def mart_expansion_opportunity_history(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings()
    mart = "mart_expansion_opportunity_history"
    root = settings.artifacts_dir / "expansion"
    if artifacts.champion_version(root) is None:
        with connect(settings) as con:
            schemas.write_mart(con, mart, schemas.empty(mart))
        reason = f"No expansion model in {root}: the expansion_model asset skipped training (see its metadata)."
        return dg.MaterializeResult(metadata={"dagster/row_count": 0, "empty_because": reason})
    model = load_champion(root, "expansion")
    df, _ = read_snapshots(dbt_project.manifest_path)
    poc = predict_proba(model, df)
    scores = df[["account_id", "as_of_date"]].copy()
    scores["score"] = expansion.expansion_score(poc, model.base_rate)
    scores["priority_tier"] = expansion.priority_tier(scores["score"])
    scores["projected_arr"] = expansion.projected_arr(df["arr_usd"], poc, scores["priority_tier"])
    history = expansion.opportunity_history(
        scores,
        df[["account_id", "as_of_date", EXPANSION_LABEL, "churned_within_90d"]],
        clock.now(),
        settings.churn_horizon_days,
    )
    with connect(settings) as con:
        schemas.write_mart(con, mart, history[schemas.columns(mart)])
    return dg.MaterializeResult(
        metadata={
            **table_metadata(f"marts.{mart}"),
            "conversion_by_tier": markdown_table(expansion.conversion_by_tier(history)),
            "model_version": model.version,
        }
    )
