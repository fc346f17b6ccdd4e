"""The warehouse on either engine without Dagster: load the raw layer, run dbt (docs/engines.md).

The same steps the ingestion assets and the dbt assets take, for the engine parity test and for
trying a change on Spark from a shell:

    AHW_ENGINE=spark ahw warehouse --dbt build   # load, quarantine, raw Parquet; then dbt build
"""

from __future__ import annotations

import argparse

from dagster_project.core import clock
from dagster_project.core.contract import TABLES
from dagster_project.core.dbt_runner import run_dbt
from dagster_project.core.settings import Settings, get_settings
from dagster_project.core.warehouse import connect
from dagster_project.ingest.landing import load_table
from dagster_project.ingest.spark_raw import export_raw_tables
from dagster_project.quality.quarantine import quarantine_order, quarantine_table
from dagster_project.quality.sla import load_sla


def load_raw(settings: Settings) -> dict[str, int]:
    """Load and quarantine every raw table, as the ingestion assets do; on Spark also write the raw
    Parquet folders dbt registers. Returns the rows kept per table."""
    kept = {}
    with connect(settings) as con:
        for name in quarantine_order():
            load_table(con, TABLES[name], settings.landing_dir)
            kept[name] = quarantine_table(con, TABLES[name], load_sla(), clock.now()).table_rows
        if settings.engine == "spark":
            export_raw_tables(con, settings.spark_raw_dir)
    return kept


def main(argv: list[str] | None = None) -> int:
    """CLI: load the raw layer of the configured engine, then optionally run one dbt command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dbt", nargs=argparse.REMAINDER, default=None, help="then run dbt with these arguments")
    args = parser.parse_args(argv)
    settings = get_settings()
    for table, rows in load_raw(settings).items():
        print(f"raw.{table}: {rows} rows ({settings.engine})")
    if args.dbt:
        result = run_dbt(settings, args.dbt)
        print(result.stdout[-20000:], result.stderr[-5000:], sep="\n")
        return result.returncode
    return 0
