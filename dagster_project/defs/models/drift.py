"""Feature drift (PSI) between the champion's training rows and the snapshot being scored.

A non-blocking check on `mart_account_health`: it runs with every scoring run and fails, with
warning severity, when any feature drifted beyond PSI 0.2, naming first the drifted features among
the model's most important ones (those move the scores).
"""

import dagster as dg
import pandas as pd

from dagster_project.core.settings import get_settings
from dagster_project.defs.metadata import rounded
from dagster_project.defs.transform.project import dbt_project
from dagster_project.ml import artifacts
from dagster_project.ml.dataset import latest_snapshot
from dagster_project.ml.drift import PSI_THRESHOLD, drifted_important_features, psi_table
from dagster_project.ml.snapshots import read_snapshots

# Drift on a feature outside the model's top 10 by gain barely moves the scores: shown, not flagged.
TOP_FEATURES = 10


@dg.asset_check(
    asset=dg.AssetKey(["marts", "mart_account_health"]),
    name="feature_drift",
    blocking=False,
    description=f"PSI of every feature between the champion churn model's training rows and the scored "
    f"snapshot. Fails (warning, never blocking) when a feature has PSI > {PSI_THRESHOLD}; the drifted ones among "
    f"the model's {TOP_FEATURES} most important features are named first.",
)
def feature_drift(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    model = artifacts.load_model(get_settings().artifacts_dir / "churn")
    df, _ = read_snapshots(dbt_project.manifest_path)
    train_window = model.metadata["windows"]["train"]
    as_of = pd.to_datetime(df["as_of_date"])
    train_rows = df[
        (as_of >= pd.Timestamp(train_window["first_as_of_date"]))
        & (as_of <= pd.Timestamp(train_window["last_as_of_date"]))
    ]
    scored = latest_snapshot(df)
    table = psi_table(train_rows, scored, model.features, importance=model.feature_importance)
    drifted = drifted_important_features(table, top_n=TOP_FEATURES)
    shown = table.head(15).copy()
    shown["psi"] = shown["psi"].round(3)
    shown["importance"] = shown["importance"].round(1)
    over = table.loc[table["flag"], "feature"].tolist()
    others = [f for f in over if f not in drifted]
    important = f"Among the {TOP_FEATURES} most important: {', '.join(drifted) or 'none'}. "
    return dg.AssetCheckResult(
        passed=not over,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{len(over)} features over PSI {PSI_THRESHOLD}. "
            + important
            + (f"Others: {', '.join(others)}." if others else "")
            if over
            else f"No feature over PSI {PSI_THRESHOLD}."
        ),
        metadata={
            "model_version": model.version,
            "train_window": f"{train_window['first_as_of_date']} .. {train_window['last_as_of_date']}",
            "scored_as_of_date": str(scored["as_of_date"].max()),
            "drifted_important_features": dg.MetadataValue.json(drifted),
            "features_over_threshold": int(table["flag"].sum()),
            "max_psi": rounded(table["psi"].max(), 3),
            "psi_threshold": PSI_THRESHOLD,
            "psi_top_15": dg.MetadataValue.md(shown.to_markdown(index=False)),
        },
    )
