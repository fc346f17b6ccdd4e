"""Reading the ML input from the warehouse: the snapshot mart, its feature families, the oracle.

No Dagster here: the churn assets and the evaluation command both read through these functions.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.core.warehouse import connect, read_warehouse, table_exists
from dagster_project.ingest.landing import SIM_SCHEMA
from dagster_project.ml.dataset import ID_COLUMNS, SNAPSHOT_TABLE

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


@dataclass(frozen=True)
class PivotedColumn:
    """One value column of a long feature table and the feature it becomes per key value."""

    column: str
    feature_template: str  # e.g. "evt_{key}_count_30d"
    family: str
    missing: float | None  # the value of a row the long table does not have (None: NaN)


@dataclass(frozen=True)
class PivotedFeatures:
    """A long feature table (account_id, as_of_date, key, values) whose features depend on the data,
    declared as `meta.pivoted_features` on the dbt model: one feature per key value and column."""

    table: str
    key: str
    columns: tuple[PivotedColumn, ...]


def pivoted_features_from_manifest(manifest: dict) -> list[PivotedFeatures]:
    """The long feature tables of the dbt project (models whose meta declares `pivoted_features`)."""
    found = []
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "model":
            continue
        meta = {**node.get("meta", {}), **node.get("config", {}).get("meta", {})}
        spec = meta.get("pivoted_features")
        if not spec:
            continue
        name = node.get("alias") or node["name"]
        columns = tuple(
            PivotedColumn(column, str(c["feature"]), str(c["feature_family"]), c.get("missing"))
            for column, c in spec["columns"].items()
        )
        found.append(PivotedFeatures(f"{node['schema']}.{name}", str(spec["key"]), columns))
    return sorted(found, key=lambda p: p.table)


def pivot_features(
    snapshots: pd.DataFrame, long: pd.DataFrame, spec: PivotedFeatures
) -> tuple[pd.DataFrame, dict[str, str]]:
    """`snapshots` with one column per key value of `long` and value column of `spec` (by key, then
    in the spec's column order) and those columns' families. A snapshot row without a row in `long`
    gets the column's `missing` value; rows of `long` outside `snapshots` are ignored."""
    absent = [c for c in (*ID_COLUMNS, spec.key, *(p.column for p in spec.columns)) if c not in long.columns]
    if absent:
        raise ValueError(
            f"{spec.table} has no column {', '.join(absent)}: rebuild it "
            f"(dbt build --select {spec.table.split('.')[-1]}) or fix meta.pivoted_features in its yml."
        )
    rows = pd.MultiIndex.from_frame(snapshots[list(ID_COLUMNS)])
    tables = {
        part.column: long.pivot(index=list(ID_COLUMNS), columns=spec.key, values=part.column).reindex(rows)
        for part in spec.columns
    }
    new: dict[str, object] = {}
    families: dict[str, str] = {}
    for key in sorted(long[spec.key].dropna().unique().tolist()):
        for part in spec.columns:
            name = part.feature_template.format(key=key)
            values = tables[part.column][key].to_numpy(dtype="float64")
            new[name] = values if part.missing is None else pd.Series(values).fillna(part.missing).to_numpy()
            families[name] = part.family
    clash = sorted(set(new) & set(snapshots.columns))
    if clash:
        raise ValueError(f"{spec.table}: pivoted features {clash} already are columns of {SNAPSHOT_TABLE}.")
    return pd.concat([snapshots, pd.DataFrame(new, index=snapshots.index)], axis=1), families


def read_snapshots(manifest_path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The ML input table and the feature families (from the dbt manifest) it carries, with the
    features of the long feature tables (`meta.pivoted_features`, e.g. one count per event name)
    pivoted onto it."""
    manifest = json.loads(manifest_path.read_text())
    families = feature_families_from_manifest(manifest)
    with read_warehouse() as con:
        # In grain order: DuckDB returns rows in any order (insertion order is not preserved), and
        # LightGBM's bagging follows row order, so an unordered read made retrains on the same
        # data give different models.
        df = con.sql(f"SELECT * FROM {SNAPSHOT_TABLE} ORDER BY account_id, as_of_date").df()
        features = {f: fam for f, fam in families.items() if f in df.columns}
        for spec in pivoted_features_from_manifest(manifest):
            df, pivoted = pivot_features(df, _read_long(con, spec), spec)
            features.update(pivoted)
    return df, features


def _read_long(con: duckdb.DuckDBPyConnection, spec: PivotedFeatures) -> pd.DataFrame:
    schema, table = spec.table.split(".")
    if not table_exists(con, schema, table):
        raise ValueError(
            f"{spec.table} does not exist: the dbt manifest declares its pivoted features. "
            f"Materialize the dbt models (the full_refresh job) first."
        )
    columns = ", ".join([*ID_COLUMNS, spec.key, *(p.column for p in spec.columns)])
    return con.sql(f"SELECT {columns} FROM {spec.table}").df()


def oracle_scores(test_rows: pd.DataFrame, column: str = "true_churn_prob_90d") -> pd.Series | None:
    """The simulator's true 90-day churn probability (or another ground-truth `column`, e.g.
    true_uplift_90d) for each test row, or None on real data or a ground truth without it.

    The ground truth is weekly, keyed by the Monday a week starts; a Sunday `as_of_date`
    is matched to the state at the start of the following week.
    """
    with connect(read_only=True) as con:
        if not table_exists(con, SIM_SCHEMA, "ground_truth_account_weeks"):
            return None
        have = con.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = ? "
            "AND table_name = 'ground_truth_account_weeks' AND column_name = ?",
            [SIM_SCHEMA, column],
        ).fetchall()[0][0]
        if not have:
            return None
        truth = con.sql(
            f"SELECT account_id, week_start_date, {column} FROM {SIM_SCHEMA}.ground_truth_account_weeks"
        ).df()
    if truth.empty:
        return None
    keys = test_rows[["account_id", "as_of_date"]].copy()
    keys["week_start_date"] = pd.to_datetime(keys["as_of_date"]).dt.normalize() + pd.Timedelta(days=1)
    truth["week_start_date"] = pd.to_datetime(truth["week_start_date"])
    merged = keys.merge(truth, on=["account_id", "week_start_date"], how="left")
    return merged[column]


def attach_oracle(df: pd.DataFrame) -> bool:
    """Add the simulator's true churn probability to `df` as ORACLE_COLUMN, in place, when the
    ground truth is loaded; returns whether it was (False on a real company's data)."""
    oracle = oracle_scores(df)
    if oracle is None or not oracle.notna().any():
        return False
    df[ORACLE_COLUMN] = oracle.to_numpy()
    return True
