"""Walk-forward backtest of the churn model on the warehouse, printed as one table.

    ahw evaluate                      # defaults: 5 origins, step fitted to the history
    ahw evaluate --plots-dir /tmp/plots --csv /tmp/folds.csv

Reads `marts.ml_account_snapshots` (read-only: safe while a refresh runs on another connection),
the feature list and families from the dbt manifest (`meta.feature_family`), and, when the
simulator's ground truth is loaded, the oracle's true probabilities. Prints rows = the model, each
baseline and the oracle, columns = metrics averaged over folds; then the SPEC section 5 targets
with pass/fail. Exit code 0 whatever the targets say: this is a report, not a gate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from dagster_project.core.settings import DBT_PROJECT_DIR, get_settings
from dagster_project.core.warehouse import connect, table_exists
from dagster_project.health import model_report
from dagster_project.health.lead_time import backtest_lead_times
from dagster_project.ml.backtest import DEFAULT_BACKTEST, BacktestSpec, check_targets, walk_forward_backtest
from dagster_project.ml.baselines import DEFAULT_LOGIN_RATIO_COLUMN
from dagster_project.ml.dataset import SNAPSHOT_TABLE
from dagster_project.ml.snapshots import (
    CHURN_LABEL,
    ORACLE_COLUMN,
    attach_oracle,
    feature_families_from_manifest,
    read_snapshots,
)
from dagster_project.ml.split import SplitSpec
from dagster_project.ml.train import CANDIDATE_KINDS, DEFAULT_GRID, DEFAULT_TRAINING, TrainSpec

DEFAULT_LABEL = CHURN_LABEL


def load_inputs(manifest_path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The snapshot mart (with an oracle column when the simulator's truth exists) and the families
    of the features it carries. Raises with the fix when the warehouse or manifest is missing."""
    settings = get_settings()
    if not manifest_path.is_file():
        raise SystemExit(f"No dbt manifest at {manifest_path}: run `ahw prepare` first.")
    # Checked before connecting: connect() would create the data folder, and a read-only open of a
    # missing file fails with a less helpful message.
    if not settings.duckdb_path.is_file():
        raise SystemExit(
            f"No warehouse at {settings.duckdb_path} (AHW_DATA_DIR / AHW_DUCKDB_PATH): materialize the "
            f"pipeline first (dagster job execute -m dagster_project.definitions -j full_refresh)."
        )
    schema, table = SNAPSHOT_TABLE.split(".")
    with connect(settings, read_only=True) as con:
        exists = table_exists(con, schema, table)
    if not exists:
        raise SystemExit(
            f"{SNAPSHOT_TABLE} does not exist in {settings.duckdb_path}: materialize the dbt models "
            f"(the full_refresh job) first."
        )
    df, features = read_snapshots(manifest_path)
    families = feature_families_from_manifest(json.loads(manifest_path.read_text()))
    missing = sorted(set(families) - set(features))
    if missing:
        print(
            f"note: {len(missing)} feature(s) declared in the manifest are not in {SNAPSHOT_TABLE}: "
            f"{', '.join(missing)}",
            file=sys.stderr,
        )
    attach_oracle(df)  # nothing without the simulator's ground truth (a real company's data)
    return df, features


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", default=DEFAULT_LABEL)
    parser.add_argument("--horizon-days", type=int, default=settings.churn_horizon_days)
    default_split = DEFAULT_BACKTEST.split
    parser.add_argument("--n-origins", type=int, default=DEFAULT_BACKTEST.n_origins)
    parser.add_argument(
        "--step-weeks",
        type=int,
        default=None,
        help="weeks between origins (default: the largest step up to 4 that fits)",
    )
    parser.add_argument("--test-weeks", type=int, default=None, help="test window per fold (default: the step)")
    parser.add_argument("--calibration-weeks", type=int, default=default_split.calibration_weeks)
    parser.add_argument("--min-train-weeks", type=int, default=default_split.min_train_weeks)
    parser.add_argument(
        "--calibration-gap-days",
        type=int,
        default=default_split.calibration_gap_days,
        help="gap between training and calibration labels (default: the production recipe's)",
    )
    parser.add_argument("--num-boost-round", type=int, default=DEFAULT_TRAINING.num_boost_round)
    parser.add_argument(
        "--lgbm-params",
        type=json.loads,
        default=None,
        help='JSON overrides of the LightGBM params, e.g. \'{"num_leaves": 7, "num_threads": 1}\'',
    )
    parser.add_argument(
        "--no-grid", action="store_true", help="LightGBM with --lgbm-params only (default: tune over the small grid)"
    )
    parser.add_argument(
        "--candidates",
        nargs="+",
        choices=CANDIDATE_KINDS,
        default=list(CANDIDATE_KINDS),
        help="model kinds to backtest; the best mean AUC is chosen, as in production (default: all)",
    )
    parser.add_argument("--login-ratio-column", default=DEFAULT_LOGIN_RATIO_COLUMN)
    parser.add_argument(
        "--segment-column",
        default=None,
        help="per-segment historical churn rate (e.g. plan); default: one overall rate",
    )
    parser.add_argument("--manifest", type=Path, default=DBT_PROJECT_DIR / "target" / "manifest.json")
    parser.add_argument("--plots-dir", type=Path, default=None, help="also write ROC/reliability/lift/importance PNGs")
    parser.add_argument("--csv", type=Path, default=None, help="also write the per-fold table (mart shape)")
    args = parser.parse_args(argv)

    df, families = load_inputs(args.manifest)
    features = list(families)
    has_oracle = ORACLE_COLUMN in df.columns and df[ORACLE_COLUMN].notna().any()
    split = SplitSpec(
        calibration_weeks=args.calibration_weeks,
        min_train_weeks=args.min_train_weeks,
        calibration_gap_days=args.calibration_gap_days,
    )
    result = walk_forward_backtest(
        df,
        features,
        args.label,
        args.horizon_days,
        BacktestSpec(n_origins=args.n_origins, step_weeks=args.step_weeks, test_weeks=args.test_weeks, split=split),
        training=TrainSpec(
            params=args.lgbm_params or {},
            num_boost_round=args.num_boost_round,
            grid=() if args.no_grid else DEFAULT_GRID,
        ),
        candidates=args.candidates,
        feature_families=families,
        login_ratio_column=args.login_ratio_column,
        segment_column=args.segment_column,
        oracle_column=ORACLE_COLUMN if has_oracle else None,
    )

    # Lead time on out-of-sample scores: every snapshot from the first origin on, scored by the
    # newest fold model that could have existed on that date; churns observed in the warehouse.
    times, lead_time = backtest_lead_times(result, df, args.horizon_days)
    flagged = times["lead_time_days"].dropna()

    s = result.settings
    first, last = result.folds[0], result.folds[-1]
    print(
        f"{SNAPSHOT_TABLE}: {len(df):,} rows, {df['account_id'].nunique():,} accounts, "
        f"{len(features)} features; label {args.label} ({args.horizon_days}-day horizon), "
        f"{s['n_labelled_dates']} labelled weekly dates"
    )
    print(
        f"{len(result.folds)} folds, origins {first.origin_date.date()} .. {last.origin_date.date()} every "
        f"{s['step_weeks']} week(s), {s['test_weeks']}-week test windows (to {last.test_end_date.date()}); "
        f"train from {first.train_start_date.date()}, {s['calibration_weeks']} calibration weeks, "
        f"{args.horizon_days}-day gaps" + ("" if has_oracle else "; no oracle (no simulator ground truth)")
    )
    tuned = [f.baseline_params.get("logistic_regression", {}).get("C") for f in result.folds]
    if any(c is not None for c in tuned):
        print(f"logistic regression penalty C per fold (tuned on the calibration period): {tuned}")
    print(result.choice)
    print()
    summary = result.summary()
    print(model_report.summary_table(result).to_string())
    print()
    print(
        f"Lead time: {len(times)} churns with a full {args.horizon_days}-day scored look-back, "
        f"{len(flagged)} flagged red before churning ({len(flagged) / max(len(times), 1):.0%})."
    )
    print("SPEC section 5 targets (model, mean over folds):")
    print(model_report.targets_table(check_targets(summary, lead_time)).to_string(index=False))

    if args.csv:
        result.to_frame().to_csv(args.csv, index=False)
        print(f"\nper-fold metrics: {args.csv}")
    if args.plots_dir:
        args.plots_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, png in model_report.backtest_plots(result).items():
            paths.append(args.plots_dir / f"{name}.png")
            paths[-1].write_bytes(png)
        print("plots: " + ", ".join(str(p) for p in paths))
    return 0
