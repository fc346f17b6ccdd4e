"""Segments: k-means on the current snapshot's behaviour and firmographics (k by silhouette),
named from their profiles; segment changes are kept as validity intervals."""

import dagster as dg
import pandas as pd

from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.defs.metadata import mart_spec_metadata, table_metadata
from dagster_project.defs.transform.project import dbt_project
from dagster_project.health import schemas, segments
from dagster_project.ml.snapshots import read_snapshots

# All three tables come from one clustering, so every job that selects one selects all three:
# each spec declares the same upstream assets.
UPSTREAM = [dg.AssetKey(["marts", "mart_account_health_history"]), dg.AssetKey(["marts", "ml_account_snapshots"])]


@dg.multi_asset(
    group_name="health",
    specs=[
        dg.AssetSpec(
            ["marts", "mart_segments"],
            kinds={"duckdb", "python"},
            metadata=mart_spec_metadata("mart_segments"),
            deps=UPSTREAM,
            description="Segment id and name of every active account, with its segment's profile.",
        ),
        dg.AssetSpec(
            ["marts", "mart_segment_profiles"],
            kinds={"duckdb", "python"},
            metadata=mart_spec_metadata("mart_segment_profiles"),
            deps=UPSTREAM,
            description="One row per segment: size, ARR, usage, tickets, NPS, expected churn, traits.",
        ),
        dg.AssetSpec(
            ["marts", "mart_segment_history"],
            kinds={"duckdb", "python"},
            metadata=mart_spec_metadata("mart_segment_history"),
            deps=UPSTREAM,
            description="Each account's segment over time (valid_from / valid_to).",
        ),
    ],
)
def segment_marts(context: dg.AssetExecutionContext):
    settings = get_settings()
    df, _ = read_snapshots(dbt_project.manifest_path)
    current = df[df["as_of_date"] == df["as_of_date"].max()].reset_index(drop=True)
    as_of_date = pd.Timestamp(current["as_of_date"].max())
    with connect(settings, read_only=True) as con:
        probabilities = con.execute(
            "SELECT account_id, churn_probability FROM marts.mart_account_health_history WHERE as_of_date = ?",
            [as_of_date.date()],
        ).df()
        previous = schemas.read_mart(con, "mart_segment_history")
    previous = previous if previous is not None else pd.DataFrame()
    current = current.merge(probabilities, on="account_id", how="left")
    result = segments.segment_accounts(current)

    accounts, profiles = segments.segment_tables(result, as_of_date)
    history = segments.segment_changes(previous, result.assignments, as_of_date)
    with connect(settings) as con:
        schemas.write_mart(con, "mart_segments", accounts)
        schemas.write_mart(con, "mart_segment_profiles", profiles[schemas.columns("mart_segment_profiles")])
        schemas.write_mart(con, "mart_segment_history", history)
    silhouettes = ", ".join(f"k={k}: {s:.3f}" for k, s in result.silhouette_by_k.items())
    table = (
        profiles[
            [
                "segment_id",
                "segment_name",
                "accounts",
                "median_arr_usd",
                "engagement_index",
                "expected_churn_rate_90d",
                "defining_traits",
            ]
        ]
        .round(3)
        .to_markdown(index=False)
    )
    yield dg.MaterializeResult(
        asset_key=["marts", "mart_segments"],
        metadata={
            **table_metadata("marts.mart_segments"),
            "k": result.k,
            "silhouette_by_k": silhouettes,
        },
    )
    yield dg.MaterializeResult(
        asset_key=["marts", "mart_segment_profiles"],
        metadata={
            **table_metadata("marts.mart_segment_profiles"),
            "profiles": dg.MetadataValue.md(table),
        },
    )
    yield dg.MaterializeResult(
        asset_key=["marts", "mart_segment_history"],
        metadata={
            **table_metadata("marts.mart_segment_history"),
            "open_rows": int(history["valid_to"].isna().sum()),
        },
    )
