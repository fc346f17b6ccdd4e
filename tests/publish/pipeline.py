"""One full_refresh run of a small simulated company, shared by the publish and privacy test modules.

The run happens once per test session (it is the expensive part); each module then works on its
own copy of the finished data folder (landing files, warehouse, models, published set), so a module
that erases or prunes data never changes what another module sees.
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
RUN_AT = f"{END_DATE + dt.timedelta(days=1)}T05:00:00"
# Small, but with enough history for the time-aware split of the churn model.
COMPANY = dict(n_accounts=200, months=16, seed=11, end_date=END_DATE)

_finished: dict = {}


@dataclass(frozen=True)
class Company:
    """Where one copy of the finished run lives."""

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


@contextmanager
def use_company(company: Company) -> Iterator[None]:
    """Point every setting at `company` and pin the run time (the morning after the data ends)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AHW_DATA_DIR", str(company.root))
        mp.setenv("AHW_LANDING_DIR", str(company.landing))
        mp.setenv("AHW_DUCKDB_PATH", str(company.warehouse))
        mp.setenv("AHW_ARTIFACTS_DIR", str(company.root / "models"))
        mp.setenv("AHW_PUBLISH_DIR", str(company.publish_dir))
        mp.setenv("AHW_NOW", RUN_AT)
        mp.delenv("DBT_TARGET", raising=False)
        yield


def run_job(name: str, **kwargs) -> dg.ExecuteInProcessResult:
    """Run one job of the project's definitions in process, on an ephemeral Dagster instance.
    full_refresh runs as a full refresh, daily_refresh on the newest daily partition."""
    from dagster_project.definitions import defs
    from dagster_project.partitions import daily_partitions, full_refresh_tags

    if name == "full_refresh":
        kwargs.setdefault("tags", full_refresh_tags())
    elif name == "daily_refresh" and "dagster/partition" not in kwargs.get("tags", {}):
        kwargs.setdefault("partition_key", daily_partitions.get_last_partition_key())
    return defs().resolve_job_def(name).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False, **kwargs
    )


def _finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if "root" not in _finished:
        from dagster_project.simulate import SimulationConfig, generate

        company = Company(tmp_path_factory.mktemp("finished_run"))
        generate(SimulationConfig(**COMPANY), company.landing)
        with use_company(company):
            result = run_job("full_refresh")
        failures = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        _finished["root"] = company.root
        _finished["failures"] = failures if not result.success else None
    # a failed run fails every module that needs it, without running it again
    assert _finished["failures"] is None, f"the shared full_refresh run failed in steps {_finished['failures']}"
    return _finished["root"]


def company_copy(tmp_path_factory: pytest.TempPathFactory, name: str) -> Company:
    """A private copy of the finished run (symlinks, such as published/current, stay relative links)."""
    source = _finished_run(tmp_path_factory)
    target = tmp_path_factory.mktemp(name) / "data"
    shutil.copytree(source, target, symlinks=True)
    return Company(target)
