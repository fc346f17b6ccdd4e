"""Business KPIs by month (MRR movements, NRR, GRR, logo churn, churn rate by band) and the
Kaplan-Meier retention curves by band."""

import dagster as dg

from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.defs.metadata import mart_spec_metadata, rounded, table_metadata
from dagster_project.health import schemas
from dagster_project.health.bands import BANDS
from dagster_project.health.kpis import business_kpis, landmark_entries, out_of_sample_churn_by_band, retention_by_band
from dagster_project.health.plots import retention_png
from dagster_project.ml.plots import markdown_image
from dagster_project.ml.snapshots import CHURN_LABEL


@dg.asset(
    group_name="health",
    key=["marts", "mart_business_kpis"],
    deps=[
        dg.AssetKey(["marts", "fct_mrr_movements"]),
        dg.AssetKey(["marts", "mart_account_health_history"]),
        dg.AssetKey(["marts", "ml_account_snapshots"]),
    ],
    kinds={"duckdb", "python"},
    metadata=mart_spec_metadata("mart_business_kpis"),
    description="One row per month: starting/ending MRR, new, expansion, contraction, churn, NRR, GRR, logo churn, "
    "and the 90-day churn rate of the accounts in each health band at the start of the month. "
    "Metadata: Kaplan-Meier retention by band.",
)
def mart_business_kpis(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings()
    with connect(settings, read_only=True) as con:
        movements = con.sql("SELECT * FROM marts.fct_mrr_movements").df()
        history = con.sql(
            "SELECT account_id, as_of_date, health_band, in_training_window FROM marts.mart_account_health_history"
        ).df()
        labels = con.sql(
            f"SELECT account_id, as_of_date, {CHURN_LABEL}, days_until_churn FROM marts.ml_account_snapshots"
        ).df()
    kpis = business_kpis(movements, history, labels)
    with connect(settings) as con:
        schemas.write_mart(con, "mart_business_kpis", kpis[schemas.columns("mart_business_kpis")])

    entries = landmark_entries(history, labels)
    curves = retention_by_band(entries)
    at_90 = {band: float(c.loc[c["time"] <= 90, "survival"].iloc[-1]) for band, c in curves.items()}

    rates = out_of_sample_churn_by_band(entries)
    rate_md = "| band | landmark rows | churned within 90 days |\n|---|---|---|\n" + "\n".join(
        f"| {b} | {int(rates.loc[b, 'size'])} | {rates.loc[b, 'mean']:.1%} |" for b in BANDS if b in rates.index
    )
    return dg.MaterializeResult(
        metadata={
            **table_metadata("marts.mart_business_kpis"),
            "retention_by_band": dg.MetadataValue.md(
                markdown_image(retention_png(curves), "Kaplan-Meier retention by band")
            ),
            **{f"retention_90d_{band}": rounded(v) for band, v in at_90.items()},
            "churn_rate_by_band_out_of_sample": dg.MetadataValue.md(rate_md),
            "latest_nrr": rounded(kpis["nrr"].dropna().iloc[-1]) if kpis["nrr"].notna().any() else None,
            "latest_grr": rounded(kpis["grr"].dropna().iloc[-1]) if kpis["grr"].notna().any() else None,
        }
    )
