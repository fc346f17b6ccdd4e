"""The project's one command line, `ahw` (also `ahw`).

ahw prepare     # simulate a company if the landing folder is empty; build the dbt manifest
ahw report      # where the marts are, and the accounts most at risk
ahw evaluate    # walk-forward backtest: model vs baselines vs oracle
ahw bench       # benchmark the pipeline at a named scale
ahw simulate    # write a simulated company's landing files
ahw --help      # every subcommand
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from dagster_project.core.contract import TABLES
from dagster_project.core.settings import DBT_PROJECT_DIR, Settings, get_settings
from dagster_project.core.warehouse import connect
from dagster_project.ingest.landing import table_files


def landing_is_empty(settings: Settings) -> bool:
    """True when no mandatory raw table has landing files."""
    return not any(table_files(settings.landing_dir, t.name) for t in TABLES.values() if t.mandatory)


def build_dbt_manifest(settings: Settings) -> None:
    """Parse the dbt project so Dagster can load its models (writes dbt_project/target/manifest.json)."""
    env = {**os.environ, **settings.export_for_dbt()}
    # The same vars as the runs' `dbt build`, so that dbt's partial parse carries over to them.
    cmd = [
        str(Path(sys.executable).parent / "dbt"),
        "parse",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--quiet",
        "--vars",
        json.dumps(settings.dbt_vars()),
    ]
    subprocess.run(cmd, env=env, check=True)


def prepare(settings: Settings, simulate_if_empty: bool = True) -> None:
    """Make a fresh checkout runnable: simulated data when there is none, and the dbt manifest."""
    if simulate_if_empty and landing_is_empty(settings):
        from dagster_project.simulate import SimulationConfig, generate
        from dagster_project.simulate.shapes import SHAPES

        if settings.simulator_shape not in SHAPES:
            raise ValueError(
                f"AHW_SIM_SHAPE={settings.simulator_shape!r} is not a simulator shape: "
                f"choose one of {', '.join(SHAPES)} (see docs/simulator.md)."
            )
        shape = SHAPES[settings.simulator_shape]
        print(
            f"No landing data in {settings.landing_dir}: simulating a company (default scale, shape {shape.name}: "
            f"{shape.description}). Its churn definition is {shape.churn_definition}."
        )
        rows = generate(SimulationConfig(shape=shape.name), settings.landing_dir)
        print("  " + ", ".join(f"{k}: {v:,}" for k, v in rows.items()))
    build_dbt_manifest(settings)
    print(f"dbt manifest ready in {DBT_PROJECT_DIR / 'target'}")


def report(settings: Settings, limit: int = 10) -> None:
    """Print where the marts live and the accounts most at risk."""
    with connect(settings, read_only=True) as con:
        marts = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1"
            ).fetchall()
        ]
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
        worked = (
            con.execute(
                """
                SELECT known_playbook, known_holdout, churn_rate_playbook, churn_rate_holdout,
                       churn_difference, churn_difference_low, churn_difference_high, verdict
                FROM marts.mart_playbook_outcomes
                WHERE playbook = 'all playbooks' AND cohort_month IS NULL
                """
            ).fetchall()
            if "mart_playbook_outcomes" in marts
            else []
        )
    print(f"\nWarehouse: {settings.duckdb_path}")
    print(f"Marts (schema 'marts'): {', '.join(marts)}")
    print(f"Scored {n_accounts} active accounts with model {version} at {scored_at}.")
    print(f"\nThe {limit} accounts most at risk:")
    print(f"{'account_id':<14} {'score':>5} {'band':<7} {'p(churn)':>8}  top driver")
    for account_id, score, band, p, driver in top:
        print(f"{account_id:<14} {score:>5} {band:<7} {p:>8.3f}  {driver or ''}")
    if worked:
        n_p, n_h, rate_p, rate_h, diff, low, high, verdict = worked[0]
        print("\nDid the playbooks work? (alert episodes whose horizon has passed)")
        if rate_p is None or rate_h is None:
            print(f"  {n_p} playbook and {n_h} holdout episodes: {verdict}.")
        else:
            print(
                f"  churn {rate_p:.1%} with a playbook ({n_p} episodes) vs {rate_h:.1%} in the holdout ({n_h}): "
                f"{diff:+.1%} [{low:+.1%}, {high:+.1%}], {verdict}."
            )


def _delegated() -> dict[str, tuple[str, Callable[[list[str]], object]]]:
    """Subcommands with their own options, parsed by the module that implements them."""
    from dagster_project.cli import bench, engines, evaluate, experiment
    from dagster_project.ingest import landing
    from dagster_project.quality import docs as sla_docs
    from dagster_project.quality import run as checks
    from dagster_project.quality import suites
    from dagster_project.serve import publish
    from dagster_project.simulate import __main__ as simulate
    from dagster_project.simulate import faults

    return {
        "simulate": ("write a simulated company's landing files", simulate.main),
        "evaluate": ("walk-forward backtest: model vs baselines vs oracle, with the targets", evaluate.main),
        "bench": ("benchmark the pipeline at a named scale", bench.main),
        "experiment": (
            "does the playbook-vs-holdout comparison find the simulated effect? over many seeds",
            experiment.main,
        ),
        "checks": ("run one group of data-quality checks against the warehouse", checks.main),
        "suites": ("regenerate the Great Expectations suites from the SLA file", suites.main),
        "sla-docs": ("rewrite the SLA table in docs/data_quality.md", sla_docs.main),
        "publish": ("publish the marts for BI from a warehouse file", publish.main),
        "load": ("load every landing table into the warehouse (no checks)", landing.main),
        "faults": ("damage landing files on purpose, for data-quality drills", faults.main),
        "warehouse": (
            "load and quarantine the raw layer of the configured engine (AHW_ENGINE), then run dbt",
            engines.main,
        ),
    }


def main(argv: list[str] | None = None) -> int:
    """`ahw <command>`: the project's one command line."""
    argv = sys.argv[1:] if argv is None else list(argv)
    delegated = _delegated()
    if argv and argv[0] in delegated:
        sys.argv = [f"ahw {argv[0]}", *argv[1:]]
        outcome = delegated[argv[0]][1](argv[1:])
        return outcome if isinstance(outcome, int) else 0
    parser = argparse.ArgumentParser(prog="ahw", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="simulate data if the landing folder is empty, and build the dbt manifest")
    prep.add_argument("--manifest-only", action="store_true", help="only build the dbt manifest")
    rep = sub.add_parser("report", help="print the marts and the accounts most at risk")
    rep.add_argument("--limit", type=int, default=10)
    sub.add_parser("full-refresh-tags", help="the run tags of a full refresh, as JSON (make run uses them)")
    for name, (help_text, _) in delegated.items():
        sub.add_parser(name, help=help_text + f" (ahw {name} --help)", add_help=False)
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "prepare":
        prepare(settings, simulate_if_empty=not args.manifest_only)
    elif args.command == "report":
        report(settings, args.limit)
    else:
        from dagster_project.defs.partitions import full_refresh_tags

        print(json.dumps(full_refresh_tags()))
    return 0
