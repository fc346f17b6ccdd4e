"""One full_refresh run of a simulated company, shared by every end-to-end test module of a session.

The run is the expensive part of the end-to-end tests, so it happens once per session, the first
time a module asks for it, on a persistent Dagster instance (a DAGSTER_HOME inside the run's
folder) so the Dagster UI test can later show its history. Modules that only read use the finished
folder as it is (`finished_company`); modules that change data (refresh, erase, prune, serve it in
the UI) work on a private copy (`company_copy`), so no module changes what another one sees.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

END_DATE = dt.date(2026, 11, 22)
# The runs happen the morning after the simulated data ends, as they would in production.
RUN_AT = f"{END_DATE + dt.timedelta(days=1)}T05:00:00"
# Long enough for the time-aware split and a 5-fold backtest (train, calibration, a one-horizon gap,
# test weeks) with churners in every calibration period; small enough to run in a few minutes.
COMPANY = dict(n_accounts=300, months=16, seed=3, end_date=END_DATE)

# At most one run at a time (DuckDB allows one writing process per database file); the Dagster UI
# test serves a copy of this home with the webserver and the daemon.
DAGSTER_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
    dequeue_interval_seconds: 1
freshness:
  enabled: true
"""


@dataclass(frozen=True)
class Company:
    """Where one copy of the finished run lives: data folder and Dagster home."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def publish_dir(self) -> Path:
        return self.root / "published"

    @property
    def artifacts(self) -> Path:
        return self.root / "models"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    def environment(self) -> dict[str, str]:
        """The settings that point the project at this copy, with the run time pinned."""
        return {
            "AHW_DATA_DIR": str(self.root),
            "AHW_LANDING_DIR": str(self.landing),
            "AHW_DUCKDB_PATH": str(self.warehouse),
            "AHW_ARTIFACTS_DIR": str(self.artifacts),
            "AHW_PUBLISH_DIR": str(self.publish_dir),
            "AHW_DATA_DOCS_DIR": str(self.root / "data_docs"),
            "AHW_GX_RESULTS_DIR": str(self.root / "gx_validations"),
            "AHW_NOW": RUN_AT,
        }


@dataclass(frozen=True)
class FinishedRun:
    """The shared run: where its data is, and its in-process result (events, checks, metadata)."""

    company: Company
    result: dg.ExecuteInProcessResult


@contextmanager
def use_company(company: Company) -> Iterator[None]:
    """Point every setting at `company` and pin the run time (the morning after the data ends)."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in company.environment().items():
            mp.setenv(name, value)
        mp.delenv("DBT_TARGET", raising=False)
        yield


def run_job(name: str, instance: dg.DagsterInstance | None = None, **kwargs) -> dg.ExecuteInProcessResult:
    """Run one job of the project's definitions in process (default: on an ephemeral instance).
    full_refresh runs as a full refresh, daily_refresh on the newest daily partition unless its
    tags name a partition or a partition range (a backfill)."""
    from dagster_project.definitions import defs
    from dagster_project.defs.partitions import full_refresh_tags, newest_partition_key

    if name == "full_refresh":
        kwargs.setdefault("tags", full_refresh_tags())
    elif name == "daily_refresh" and not any(
        tag == "dagster/partition" or tag.startswith("dagster/asset_partition_range") for tag in kwargs.get("tags", {})
    ):
        kwargs.setdefault("partition_key", newest_partition_key())
    return (
        defs()
        .resolve_job_def(name)
        .execute_in_process(instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False, **kwargs)
    )


_session: dict = {}

# `make test` runs the suite on two pytest-xdist workers (--dist loadgroup). The run lives in one
# worker's memory, so every module that uses it marks itself with this group: they all run on the
# same worker, and the company is simulated and run once, not once per worker.
SHARED_RUN = pytest.mark.xdist_group("finished_run")


def finished_run(tmp_path_factory: pytest.TempPathFactory) -> FinishedRun:
    """The shared full_refresh run (simulated and run the first time it is asked for).
    A failed run fails every module that needs it, without running it again."""
    if "run" not in _session:
        from dagster_project.simulate import SimulationConfig, generate

        company = Company(tmp_path_factory.mktemp("finished_run") / "data")
        generate(SimulationConfig(**COMPANY), company.landing)
        company.dagster_home.mkdir(parents=True)
        (company.dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)
        with use_company(company):
            instance = dg.DagsterInstance.from_config(str(company.dagster_home))
            try:
                result = run_job("full_refresh", instance=instance)
            finally:
                instance.dispose()
        _session["run"] = FinishedRun(company, result)
    run = _session["run"]
    failures = [e.step_key for e in run.result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert run.result.success, f"the shared full_refresh run failed in steps {failures}"
    return run


def company_copy(tmp_path_factory: pytest.TempPathFactory, name: str) -> Company:
    """A private copy of the finished run (symlinks, such as published/current, stay relative links)."""
    source = finished_run(tmp_path_factory).company
    target = Company(tmp_path_factory.mktemp(name) / "data")
    shutil.copytree(source.root, target.root, symlinks=True)
    return target
