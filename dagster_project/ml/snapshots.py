"""Reading the ML input from the warehouse: the snapshot mart, its feature families, the oracle.

No Dagster here: the churn assets and the evaluation command both read through these functions.
"""

import json
from pathlib import Path

import pandas as pd

from dagster_project.core.warehouse import connect, table_exists
from dagster_project.ingest.landing import SIM_SCHEMA
from dagster_project.ml.dataset import SNAPSHOT_TABLE

CHURN_LABEL = "churned_within_90d"
# Column the simulator's true churn probability is attached as (for the oracle ranking).
ORACLE_COLUMN = "oracle_churn_prob"


def feature_families_from_manifest(manifest: dict) -> dict[str, str]:
    """Feature -> family, declared once as `meta.feature_family` on the dbt model columns."""
    families: dict[str, str] = {}
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "model":
            continue
        for name, column in node.get("columns", {}).items():
            meta = {**column.get("meta", {}), **column.get("config", {}).get("meta", {})}
            if "feature_family" in meta:
                families[name] = meta["feature_family"]
    if not families:
        raise ValueError(
            "No dbt model column declares meta.feature_family: the churn model has no features. "
            "Declare them in dbt_project/models/marts/ (see fct_account_features_weekly's yml)."
        )
    return families


def read_snapshots(manifest_path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The ML input table and the feature families (from the dbt manifest) it carries."""
    families = feature_families_from_manifest(json.loads(manifest_path.read_text()))
    with connect(read_only=True) as con:
        # In grain order: DuckDB returns rows in any order (insertion order is not preserved), and
        # LightGBM's bagging follows row order, so an unordered read made retrains on the same
        # data give different models.
        df = con.sql(f"SELECT * FROM {SNAPSHOT_TABLE} ORDER BY account_id, as_of_date").df()
    features = {f: fam for f, fam in families.items() if f in df.columns}
    return df, features


def oracle_scores(test_rows: pd.DataFrame) -> pd.Series | None:
    """The simulator's true 90-day churn probability for each test row, or None on real data.

    The ground truth is weekly, keyed by the Monday a week starts; a Sunday `as_of_date`
    is matched to the state at the start of the following week.
    """
    with connect(read_only=True) as con:
        if not table_exists(con, SIM_SCHEMA, "ground_truth_account_weeks"):
            return None
        truth = con.sql(
            f"SELECT account_id, week_start_date, true_churn_prob_90d FROM {SIM_SCHEMA}.ground_truth_account_weeks"
        ).df()
    if truth.empty:
        return None
    keys = test_rows[["account_id", "as_of_date"]].copy()
    keys["week_start_date"] = pd.to_datetime(keys["as_of_date"]).dt.normalize() + pd.Timedelta(days=1)
    truth["week_start_date"] = pd.to_datetime(truth["week_start_date"])
    merged = keys.merge(truth, on=["account_id", "week_start_date"], how="left")
    return merged["true_churn_prob_90d"]


def attach_oracle(df: pd.DataFrame) -> bool:
    """Add the simulator's true churn probability to `df` as ORACLE_COLUMN, in place, when the
    ground truth is loaded; returns whether it was (False on a real company's data)."""
    oracle = oracle_scores(df)
    if oracle is None or not oracle.notna().any():
        return False
    df[ORACLE_COLUMN] = oracle.to_numpy()
    return True
