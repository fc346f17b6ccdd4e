"""Shared fixtures of the data-quality tests: a small simulated company, a pinned run time, loaders.

The company ends on Saturday 2026-10-31 and the run is pinned to the next morning (AHW_NOW), so
freshness, future-timestamp and volume checks are deterministic. Every test gets its own warehouse
and data folder under tmp (AHW_DATA_DIR, AHW_LANDING_DIR, AHW_DUCKDB_PATH): nothing touches data/.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from dagster_project.core import clock
from dagster_project.core.contract import TABLES
from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.ingest.landing import load_table
from dagster_project.quality.quarantine import QuarantineResult, quarantine_order, quarantine_table
from dagster_project.quality.sla import load_sla

END_DATE = dt.date(2026, 10, 31)
RUN_AT = "2026-11-01T05:00:00"
SMALL = dict(n_accounts=60, months=6, seed=1, end_date=END_DATE)


@pytest.fixture(scope="session")
def clean_landing(tmp_path_factory) -> Path:
    """The small company's landing files, generated once per session (read-only: copy before faulting)."""
    from dagster_project.simulate import SimulationConfig, generate

    out = tmp_path_factory.mktemp("clean_landing")
    generate(SimulationConfig(**SMALL), out)
    return out


def use_warehouse(monkeypatch: pytest.MonkeyPatch, root: Path, landing: Path) -> None:
    """Point every setting at tmp paths and pin the run time."""
    monkeypatch.setenv("AHW_DATA_DIR", str(root))
    monkeypatch.setenv("AHW_LANDING_DIR", str(landing))
    monkeypatch.setenv("AHW_DUCKDB_PATH", str(root / "warehouse.duckdb"))
    monkeypatch.setenv("AHW_NOW", RUN_AT)
    monkeypatch.delenv("AHW_DATA_DOCS_DIR", raising=False)
    monkeypatch.delenv("AHW_GX_RESULTS_DIR", raising=False)


def copy_landing(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def load_all() -> dict[str, QuarantineResult]:
    """What the ingest assets do: load each raw table, then quarantine its invalid rows."""
    s = get_settings()
    results = {}
    with connect(s) as con:
        for name in quarantine_order():
            load_table(con, TABLES[name], s.landing_dir)
            results[name] = quarantine_table(con, TABLES[name], load_sla(), clock.now())
    return results
