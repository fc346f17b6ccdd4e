"""CLI: ahw simulate --accounts 500 --months 18 --seed 42 [--shape all_sources] [--end-date YYYY-MM-DD]
[--event-volume 1.0] [--playbook-effect 1.0] [--out DIR]"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from dagster_project.core.settings import get_settings
from dagster_project.simulate import SimulationConfig, generate
from dagster_project.simulate.shapes import SHAPES


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, simulate, print rows per table and the elapsed time."""
    parser = argparse.ArgumentParser(
        prog="ahw simulate", description="Simulate a B2B SaaS company and write its raw tables as Parquet."
    )
    parser.add_argument("--accounts", type=int, default=500, help="number of accounts (default 500)")
    parser.add_argument("--months", type=int, default=18, help="months of history (default 18)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--shape",
        choices=list(SHAPES),
        default=None,
        help="which raw tables the company brings and how it churns: "
        + "; ".join(f"{s.name}: {s.description}" for s in SHAPES.values())
        + " (default: AHW_SIM_SHAPE, else all_sources)",
    )
    parser.add_argument(
        "--end-date",
        type=dt.date.fromisoformat,
        default=None,
        help="last simulated day, YYYY-MM-DD (default: yesterday, UTC)",
    )
    parser.add_argument(
        "--event-volume",
        type=float,
        default=1.0,
        help="multiplies product actions per active user-day, for benchmarks (default 1.0)",
    )
    parser.add_argument(
        "--playbook-effect",
        type=float,
        default=1.0,
        help="scales the true health effect of the simulated CS team's playbooks; 0: they do nothing (default 1.0)",
    )
    parser.add_argument(
        "--last-day-file",
        action="store_true",
        help="write the events received on the last day to their own file, like a daily delivery",
    )
    parser.add_argument("--out", type=Path, default=None, help="landing folder (default: AHW_LANDING_DIR)")
    args = parser.parse_args(argv)

    settings = get_settings()
    out = args.out or settings.landing_dir
    config = SimulationConfig(
        shape=args.shape or settings.simulator_shape,
        n_accounts=args.accounts,
        months=args.months,
        seed=args.seed,
        end_date=args.end_date,
        event_volume=args.event_volume,
        last_day_file=args.last_day_file,
        playbook_effect=args.playbook_effect,
    )
    started = time.perf_counter()
    rows = generate(config, out)
    elapsed = time.perf_counter() - started
    shape = SHAPES[config.shape]
    print(
        f"simulated {config.n_accounts} accounts x {config.months} months (seed {config.seed}, shape {shape.name}) "
        f"into {out}; its churn definition: {shape.churn_definition}"
    )
    for table, n in rows.items():
        print(f"  {table:<28} {n:>12,} rows")
    print(f"  elapsed {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
