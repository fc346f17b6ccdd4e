"""Churn: train and calibrate the LightGBM model and save it as a versioned artifact.

Thin wrappers: the assets gather inputs from the warehouse, call `dagster_project.ml`,
write the results back and attach metadata.
"""


import dagster as dg
import pandas as pd

from dagster_project.defs.transform.project import dbt_project
from dagster_project.landing import SIM_SCHEMA
from dagster_project.ml import artifacts, evaluate, split, train
from dagster_project.settings import get_settings
from dagster_project.snapshots import CHURN_LABEL, oracle_scores, read_snapshots
from dagster_project.warehouse import connect

LOGIN_BASELINE_FEATURE = "logins_30d"
# Calibration directly follows training (the test period keeps its full one-horizon gap): with
# 18 months of history a second gap would leave too few training weeks.
CALIBRATION_GAP_DAYS = 0
# Eight weeks of calibration leave more weeks to train on; the test period stays the last 13 weeks.
CALIBRATION_WEEKS = 8


@dg.asset(
    group_name="models",
    deps=[dg.AssetKey(["marts", "ml_account_snapshots"]), dg.AssetKey([SIM_SCHEMA, "ground_truth_account_weeks"])],
    kinds={"lightgbm"},
    description="LightGBM churn model on the labelled weekly snapshots, calibrated (isotonic) on a later "
    "period and evaluated on the latest fully observed period. Saved as a versioned artifact.",
)
def churn_model(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings()
    df, families = read_snapshots(dbt_project.manifest_path)
    model = train.train_churn_model(
        df, list(families), CHURN_LABEL, settings.churn_horizon_days,
        feature_families=families, calibration_gap_days=CALIBRATION_GAP_DAYS,
        calibration_weeks=CALIBRATION_WEEKS,
    )
    # The same deterministic split the model was evaluated on, to score the baselines on the same rows.
    test_rows = split.time_split(
        df, CHURN_LABEL, settings.churn_horizon_days,
        calibration_gap_days=CALIBRATION_GAP_DAYS, calibration_weeks=CALIBRATION_WEEKS,
    ).test
    y = test_rows[CHURN_LABEL].astype(int).to_numpy()

    metrics = model.metadata["metrics"]
    table = {"model": metrics}
    if LOGIN_BASELINE_FEATURE in test_rows:
        # Fewer logins = higher risk: the rule a CSM would use without a model.
        # It ranks but is not a probability: its Brier score and calibration error mean nothing.
        risk_rank = (-test_rows[LOGIN_BASELINE_FEATURE].fillna(0)).rank(pct=True).to_numpy()
        ranking = evaluate.binary_metrics(y, risk_rank)
        table["logins_only"] = {**ranking, "brier": float("nan"), "ece": float("nan")}
    oracle = oracle_scores(test_rows)
    if oracle is not None and oracle.notna().all():
        table["oracle"] = evaluate.binary_metrics(y, oracle.to_numpy())
    model.metadata["holdout_comparison"] = table

    path = artifacts.save_model(model, settings.artifacts_dir / "churn", promote=True)
    rows = [f"| {name} | {m['auc']:.3f} | {m['pr_auc']:.3f} | {m['brier']:.4f} | {m['ece']:.4f} | {m['lift_top_decile']:.2f} |"
            for name, m in table.items()]
    md = "| ranking | AUC | PR-AUC | Brier | ECE | lift@10% |\n|---|---|---|---|---|---|\n" + "\n".join(rows)
    context.log.info("Holdout comparison:\n" + md)
    return dg.MaterializeResult(
        metadata={
            "model_version": model.metadata["version"],
            "artifact": dg.MetadataValue.path(str(path)),
            "holdout_auc": float(metrics["auc"]),
            "holdout_pr_auc": float(metrics["pr_auc"]),
            "holdout_brier": float(metrics["brier"]),
            "holdout_ece": float(metrics["ece"]),
            "logins_only_auc": float(table["logins_only"]["auc"]) if "logins_only" in table else None,
            "oracle_auc": float(table["oracle"]["auc"]) if "oracle" in table else None,
            "holdout_comparison": dg.MetadataValue.md(md),
            "n_features": len(families),
            "windows": dg.MetadataValue.json(model.metadata["windows"]),
        }
    )
