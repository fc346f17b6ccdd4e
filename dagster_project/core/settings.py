"""One settings object, read from the environment (documented in `.env.example`).

Nothing is read at import time: call `get_settings()` where a value is needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"

# How churn is defined (the dbt var churn_definition; dbt_project/README.md says when to pick which).
CHURN_DEFINITIONS = ("contractual", "activity", "dormancy")

# The warehouse engines (docs/engines.md): DuckDB, embedded, the default; Apache Spark through
# dbt-spark, an optional extra (`make install-spark`).
ENGINES = ("duckdb", "spark")

# Used only by the dev target; the prod target requires AHW_PII_SALT.
DEV_PII_SALT = "ahw-dev-salt-not-secret"


@dataclass(frozen=True)
class Settings:
    """Paths and knobs of one deployment. Every field maps to an `AHW_*` variable."""

    data_dir: Path
    landing_dir: Path
    duckdb_path: Path
    artifacts_dir: Path
    dbt_target: str
    pii_salt: str
    duckdb_memory_limit: str
    duckdb_threads: int
    churn_horizon_days: int
    publish_dir: Path
    retention_months: int
    # Operations: marts older than this show as stale in the UI; failed runs are posted here when set.
    freshness_hours: int = 26
    alert_webhook_url: str | None = None
    # Customer-success marts: health band edges, hysteresis margin, score-drop alert tiers.
    health_red_max: int = 30
    health_yellow_max: int = 70
    health_band_margin: int = 3
    alert_moderate_drop_points: int = 11
    alert_major_drop_points: int = 21
    alert_minor_drop_points: int = 1
    duckdb_temp_directory: Path = REPO_ROOT / "data" / "duckdb_tmp"
    lookback_days: int = 3
    partitions_start_date: str = "2024-01-01"
    # The simulated company `ahw prepare` (and `ahw simulate` without --shape) writes: which raw
    # tables it brings (dagster_project/simulate/shapes.py).
    simulator_shape: str = "all_sources"
    churn_definition: str = "contractual"
    # The event names that count as activity for the activity and dormancy definitions and the
    # recency features (empty: every event), e.g. order_placed for a purchase-style product.
    qualifying_events: tuple[str, ...] = ()
    # The randomized holdout of alerts (dagster_project/core/holdout.py): the share of
    # account-horizons that get no outreach (0 turns it off) and the salt of their hash.
    holdout_share: float = 0.10
    holdout_salt: str = "ahw-holdout"
    # ROI inputs (mart_roi): yearly tooling cost, CS hours per action and their hourly cost (USD).
    roi_tooling_usd_per_year: float = 0.0
    roi_hours_per_action: float = 1.5
    roi_hourly_cost_usd: float = 60.0
    # The warehouse engine, and on Spark where its tables (Parquet), the raw Parquet folders and the
    # marts written by Python steps live,
    # which master a local session uses and its driver memory (docs/engines.md).
    engine: str = "duckdb"
    spark_warehouse_dir: Path = REPO_ROOT / "data" / "spark" / "warehouse"
    spark_raw_dir: Path = REPO_ROOT / "data" / "spark" / "raw"
    spark_marts_dir: Path = REPO_ROOT / "data" / "spark" / "python_marts"
    spark_master: str = "local[2]"
    spark_driver_memory: str = "2g"

    @property
    def dbt_profile_target(self) -> str:
        """The target of dbt_project/profiles.yml: DBT_TARGET (dev or prod) on the chosen engine."""
        if self.engine == "spark":
            return "spark_prod" if self.dbt_target == "prod" else "spark"
        return self.dbt_target

    def export_for_dbt(self) -> dict[str, str]:
        """Environment variables that dbt's profiles.yml and dbt_project.yml read."""
        return {
            "AHW_DUCKDB_PATH": str(self.duckdb_path),
            "AHW_PII_SALT": self.pii_salt,
            "AHW_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "AHW_DUCKDB_THREADS": str(self.duckdb_threads),
            "DBT_TARGET": self.dbt_profile_target,
            "AHW_DUCKDB_TEMP_DIRECTORY": str(self.duckdb_temp_directory),
            "AHW_SPARK_WAREHOUSE_DIR": str(self.spark_warehouse_dir),
            "AHW_SPARK_RAW_DIR": str(self.spark_raw_dir),
            "AHW_SPARK_MASTER": self.spark_master,
            "AHW_SPARK_DRIVER_MEMORY": self.spark_driver_memory,
        }

    @property
    def spark_parquet_dirs(self) -> list[Path]:
        """On Spark, the folders that hold Spark tables' Parquet files (raw, dbt's, Python-written);
        none on DuckDB."""
        if self.engine != "spark":
            return []
        return [self.spark_raw_dir, self.spark_warehouse_dir, self.spark_marts_dir]

    def dbt_vars(self) -> dict[str, object]:
        """dbt vars that follow settings (the rest keep the defaults in dbt_project.yml)."""
        return {
            "churn_horizon_days": self.churn_horizon_days,
            "lookback_days": self.lookback_days,
            "churn_definition": self.churn_definition,
            "qualifying_event_names": list(self.qualifying_events),
        }


def get_settings() -> Settings:
    """Build settings from the environment, with documented defaults."""
    data_dir = Path(os.environ.get("AHW_DATA_DIR", REPO_ROOT / "data")).resolve()
    target = os.environ.get("DBT_TARGET", "dev")
    salt = os.environ.get("AHW_PII_SALT", "")
    if not salt:
        if target == "prod":
            raise RuntimeError(
                "AHW_PII_SALT is not set: the prod target hashes PII with a secret salt. "
                "Set AHW_PII_SALT in the environment (see .env.example)."
            )
        salt = DEV_PII_SALT
    return Settings(
        data_dir=data_dir,
        landing_dir=Path(os.environ.get("AHW_LANDING_DIR", data_dir / "landing")).resolve(),
        duckdb_path=Path(os.environ.get("AHW_DUCKDB_PATH", data_dir / "warehouse.duckdb")).resolve(),
        artifacts_dir=Path(os.environ.get("AHW_ARTIFACTS_DIR", data_dir / "models")).resolve(),
        dbt_target=target,
        pii_salt=salt,
        duckdb_memory_limit=os.environ.get("AHW_DUCKDB_MEMORY_LIMIT", "4GB"),
        duckdb_threads=int(os.environ.get("AHW_DUCKDB_THREADS", "2")),
        churn_horizon_days=int(os.environ.get("AHW_CHURN_HORIZON_DAYS", "90")),
        publish_dir=Path(os.environ.get("AHW_PUBLISH_DIR", data_dir / "published")).resolve(),
        retention_months=int(os.environ.get("AHW_RETENTION_MONTHS", "13")),
        freshness_hours=int(os.environ.get("AHW_FRESHNESS_HOURS", "26")),
        alert_webhook_url=os.environ.get("AHW_ALERT_WEBHOOK_URL") or None,
        health_red_max=int(os.environ.get("AHW_HEALTH_RED_MAX", "30")),
        health_yellow_max=int(os.environ.get("AHW_HEALTH_YELLOW_MAX", "70")),
        health_band_margin=int(os.environ.get("AHW_HEALTH_BAND_MARGIN", "3")),
        alert_moderate_drop_points=int(os.environ.get("AHW_ALERT_MODERATE_DROP_POINTS", "11")),
        alert_major_drop_points=int(os.environ.get("AHW_ALERT_MAJOR_DROP_POINTS", "21")),
        alert_minor_drop_points=int(os.environ.get("AHW_ALERT_MINOR_DROP_POINTS", "1")),
        duckdb_temp_directory=Path(os.environ.get("AHW_DUCKDB_TEMP_DIRECTORY", data_dir / "duckdb_tmp")).resolve(),
        lookback_days=_non_negative_int("AHW_LOOKBACK_DAYS", "3"),
        partitions_start_date=os.environ.get("AHW_PARTITIONS_START_DATE", "2024-01-01"),
        simulator_shape=os.environ.get("AHW_SIM_SHAPE") or "all_sources",
        churn_definition=_churn_definition(),
        qualifying_events=tuple(
            name.strip() for name in os.environ.get("AHW_QUALIFYING_EVENTS", "").split(",") if name.strip()
        ),
        holdout_share=_share("AHW_HOLDOUT_SHARE", "0.10"),
        holdout_salt=os.environ.get("AHW_HOLDOUT_SALT") or "ahw-holdout",
        roi_tooling_usd_per_year=float(os.environ.get("AHW_ROI_TOOLING_USD_PER_YEAR", "0")),
        roi_hours_per_action=float(os.environ.get("AHW_ROI_HOURS_PER_ACTION", "1.5")),
        roi_hourly_cost_usd=float(os.environ.get("AHW_ROI_HOURLY_COST_USD", "60")),
        engine=_engine(),
        spark_warehouse_dir=Path(os.environ.get("AHW_SPARK_WAREHOUSE_DIR", data_dir / "spark" / "warehouse")).resolve(),
        spark_raw_dir=Path(os.environ.get("AHW_SPARK_RAW_DIR", data_dir / "spark" / "raw")).resolve(),
        spark_marts_dir=Path(os.environ.get("AHW_SPARK_MARTS_DIR", data_dir / "spark" / "python_marts")).resolve(),
        spark_master=os.environ.get("AHW_SPARK_MASTER") or "local[2]",
        spark_driver_memory=os.environ.get("AHW_SPARK_DRIVER_MEMORY") or "2g",
    )


def _engine() -> str:
    raw = os.environ.get("AHW_ENGINE", "duckdb")
    value = raw.strip().lower() or "duckdb"
    if value not in ENGINES:
        raise ValueError(f"AHW_ENGINE={raw!r} is not one of {', '.join(ENGINES)} (see .env.example).")
    return value


def _share(name: str, default: str) -> float:
    raw = os.environ.get(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 0.5:
        raise ValueError(
            f"{name}={raw!r} is not a share between 0 and 0.5 (0 turns the holdout off; see .env.example)."
        )
    return value


def _churn_definition() -> str:
    raw = os.environ.get("AHW_CHURN_DEFINITION", "contractual")
    value = raw.strip().lower()
    if value not in CHURN_DEFINITIONS:
        raise ValueError(
            f"AHW_CHURN_DEFINITION={raw!r} is not one of {', '.join(CHURN_DEFINITIONS)} "
            "(see .env.example and dbt_project/README.md)."
        )
    return value


def _non_negative_int(name: str, default: str) -> int:
    raw = os.environ.get(name, default)
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{name}={raw!r} is not a whole number of days >= 0 (see .env.example).")
    return value
