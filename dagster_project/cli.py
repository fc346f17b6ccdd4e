"""Command line helpers around the pipeline: `prepare` before a run, `report` after it.

    python -m dagster_project.cli prepare   # simulate a company if the landing folder is empty; build the dbt manifest
    python -m dagster_project.cli report    # where the marts are, and the accounts most at risk
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from dagster_project.contract import TABLES
from dagster_project.landing import table_files
from dagster_project.settings import DBT_PROJECT_DIR, Settings, get_settings
from dagster_project.warehouse import connect


def landing_is_empty(settings: Settings) -> bool:
    """True when no mandatory raw table has landing files."""
    return not any(table_files(settings.landing_dir, t.name) for t in TABLES.values() if t.mandatory)


def build_dbt_manifest(settings: Settings) -> None:
    """Parse the dbt project so Dagster can load its models (writes dbt_project/target/manifest.json)."""
    env = {**os.environ, **settings.export_for_dbt()}
    # The same vars as the runs' `dbt build`, so that dbt's partial parse carries over to them.
    cmd = [str(Path(sys.executable).parent / "dbt"), "parse", "--project-dir", str(DBT_PROJECT_DIR),
           "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet", "--vars", json.dumps(settings.dbt_vars())]
    subprocess.run(cmd, env=env, check=True)


def prepare(settings: Settings, simulate_if_empty: bool = True) -> None:
    """Make a fresh checkout runnable: simulated data when there is none, and the dbt manifest."""
    if simulate_if_empty and landing_is_empty(settings):
        from dagster_project.simulate import SimulationConfig, generate

        print(f"No landing data in {settings.landing_dir}: simulating a company (default scale).")
        rows = generate(SimulationConfig(), settings.landing_dir)
        print("  " + ", ".join(f"{k}: {v:,}" for k, v in rows.items()))
    build_dbt_manifest(settings)
    print(f"dbt manifest ready in {DBT_PROJECT_DIR / 'target'}")


def report(settings: Settings, limit: int = 10) -> None:
    """Print where the marts live and the accounts most at risk."""
    with connect(settings, read_only=True) as con:
        marts = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1"
        ).fetchall()]
        top = con.execute(
            """
            SELECT account_id, health_score, health_band, round(churn_probability, 3),
                   json_extract_string(top_drivers, '$[0].sentence')
            FROM marts.mart_account_health
            ORDER BY churn_probability DESC, account_id
            LIMIT ?
            """,
            [limit],
        ).fetchall()
        n_accounts, scored_at, version = con.execute(
            "SELECT count(*), max(scored_at), max(model_version) FROM marts.mart_account_health"
        ).fetchall()[0]
    print(f"\nWarehouse: {settings.duckdb_path}")
    print(f"Marts (schema 'marts'): {', '.join(marts)}")
    print(f"Scored {n_accounts} active accounts with model {version} at {scored_at}.")
    print(f"\nThe {limit} accounts most at risk:")
    print(f"{'account_id':<14} {'score':>5} {'band':<7} {'p(churn)':>8}  top driver")
    for account_id, score, band, p, driver in top:
        print(f"{account_id:<14} {score:>5} {band:<7} {p:>8.3f}  {driver or ''}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.cli", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="simulate data if the landing folder is empty, and build the dbt manifest")
    prep.add_argument("--manifest-only", action="store_true", help="only build the dbt manifest")
    rep = sub.add_parser("report", help="print the marts and the accounts most at risk")
    rep.add_argument("--limit", type=int, default=10)
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "prepare":
        prepare(settings, simulate_if_empty=not args.manifest_only)
    else:
        report(settings, args.limit)


if __name__ == "__main__":
    main()
