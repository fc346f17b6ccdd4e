"""Running the committed GX suites against the DuckDB warehouse, and building Data Docs.

GX is imported lazily (it takes seconds to import), so Dagster definitions load fast.

Two things this module does that GX does not do by itself for DuckDB:
- GX 1.24 closes its SQLAlchemy connection between the query and the fetch of a metric, which with
  duckdb-engine yields empty results (IndexError in resolve_metric_bundle; great_expectations
  issue #10738). GX keeps one persistent connection for SQLite and a few other dialects; DuckDB is
  registered with them here.
- The warehouse file must be released after validating (DuckDB allows one writer process), so
  `validate` disposes every engine it opened, whatever happens.
"""

from __future__ import annotations

import enum
import gc
import importlib
import multiprocessing
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster_project.core.settings import EXPECTATIONS_DIR, Settings, get_settings

# GX opens the warehouse with the project's DuckDB settings (duckdb-engine passes the URL's query
# parameters to DuckDB as configuration), not DuckDB's defaults (80 % of the machine's memory).
CONNECTION_STRING = (
    "duckdb:///${AHW_DUCKDB_PATH}?memory_limit=${AHW_DUCKDB_MEMORY_LIMIT}"
    "&threads=${AHW_DUCKDB_THREADS}&temp_directory=${AHW_DUCKDB_TEMP_DIRECTORY}"
    "&preserve_insertion_order=false"
)
# the settings the connection string reads (Settings.export_for_dbt names them)
CONNECTION_ENV = ("AHW_DUCKDB_PATH", "AHW_DUCKDB_MEMORY_LIMIT", "AHW_DUCKDB_THREADS", "AHW_DUCKDB_TEMP_DIRECTORY")
DATA_DOCS_ENV = "AHW_DATA_DOCS_DIR"
RESULTS_ENV = "AHW_GX_RESULTS_DIR"


def data_docs_dir(settings: Settings | None = None) -> Path:
    """Where the static Data Docs site is built: AHW_DATA_DOCS_DIR, default <AHW_DATA_DIR>/data_docs."""
    s = settings or get_settings()
    return Path(os.environ.get(DATA_DOCS_ENV, s.data_dir / "data_docs")).resolve()


def results_dir(settings: Settings | None = None) -> Path:
    """Where GX stores validation results: AHW_GX_RESULTS_DIR, default <AHW_DATA_DIR>/gx_validations."""
    s = settings or get_settings()
    return Path(os.environ.get(RESULTS_ENV, s.data_dir / "gx_validations")).resolve()


def runtime_environment(settings: Settings | None = None) -> dict[str, str]:
    """The ${...} values of expectations/great_expectations.yml, from the project settings."""
    s = settings or get_settings()
    duckdb_settings = s.export_for_dbt()
    return {
        **{name: duckdb_settings[name] for name in CONNECTION_ENV},
        RESULTS_ENV: str(results_dir(s)) + "/",
        DATA_DOCS_ENV: str(data_docs_dir(s)) + "/",
    }


# pyspark's modules whose import checks that `__main__` has a file, and exits the process if not
SPARK_CONNECT_MODULES = ("pyspark.sql.connect", "pyspark.ml.connect")


def import_gx():
    """Import Great Expectations (the package) without letting it probe Spark Connect.

    GX looks for pyspark when it is imported. With the spark extra installed (docs/engines.md),
    importing pyspark's Spark Connect modules in a process whose `__main__` has no file (a Dagster
    step process, a pytest-xdist worker) exits that process: pyspark takes it for a doctest run.
    GX validates DuckDB tables here, never Spark ones, so during its import pyspark counts as
    absent; if this process imported pyspark itself before, its Spark Connect modules do (unless
    they are imported already, and so did not exit it).
    """
    if "great_expectations" in sys.modules:
        hidden = []
    elif "pyspark" in sys.modules:
        hidden = [name for name in SPARK_CONNECT_MODULES if name not in sys.modules]
    else:
        hidden = ["pyspark"]
    for name in hidden:
        sys.modules[name] = None  # importing it raises ImportError, which GX handles
    try:
        return importlib.import_module("great_expectations")
    finally:
        for name in hidden:
            del sys.modules[name]


def _register_duckdb_persisted_connection() -> None:
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    class _DuckDBDialect(enum.StrEnum):
        DUCKDB = "duckdb"

    dialects = engine_module._PERSISTED_CONNECTION_DIALECTS
    if not any(getattr(d, "value", d) == "duckdb" for d in dialects):
        engine_module._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DuckDBDialect.DUCKDB)


def get_context(root: Path | None = None, settings: Settings | None = None):
    """The committed GX File Data Context in expectations/, configured for this deployment."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    gx = import_gx()

    _register_duckdb_persisted_connection()
    s = settings or get_settings()
    env = runtime_environment(s)
    # The datasource's connection string is substituted from the process environment at run time.
    os.environ.update({name: env[name] for name in CONNECTION_ENV})
    s.duckdb_temp_directory.mkdir(parents=True, exist_ok=True)
    return gx.get_context(mode="file", context_root_dir=str(root or EXPECTATIONS_DIR), runtime_environment=env)


def _dispose_duckdb_engines() -> None:
    """Close every SQLAlchemy engine GX opened on the warehouse (GX keeps them cached)."""
    import sqlalchemy as sa
    from great_expectations.execution_engine.sqlalchemy_execution_engine import SqlAlchemyExecutionEngine

    gc.collect()
    for obj in gc.get_objects():
        if isinstance(obj, SqlAlchemyExecutionEngine):
            conn = getattr(obj, "_connection", None)
            if conn is not None:
                conn.close()
                obj._connection = None
            obj.engine.dispose()
        elif isinstance(obj, sa.engine.Engine) and obj.dialect.name == "duckdb":
            obj.dispose()
    gc.collect()


def _release_project() -> None:
    """Drop GX's module-level reference to the context `gx.get_context` registers (its project
    manager). That reference keeps the data source, its SQLAlchemy engine and the DuckDB driver's
    objects alive until the interpreter exits, where DuckDB reports them as leaked instances."""
    from great_expectations.data_context.data_context.context_factory import project_manager

    project_manager.set_project(None)


@contextmanager
def gx_context(settings: Settings | None = None) -> Iterator[Any]:
    """A GX context whose DuckDB connections are all closed, and which nothing holds, on exit."""
    context = get_context(settings=settings)
    try:
        yield context
    finally:
        _release_project()
        _dispose_duckdb_engines()


@dataclass
class SuiteRun:
    """The GX result of one suite, reduced to plain values (see checks.outcomes_from_gx)."""

    suite: str
    success: bool
    results: list[dict[str, Any]]  # one per expectation: type, kwargs, meta, success, result, exception


def result_format(key_columns: list[str]) -> dict[str, Any]:
    return {"result_format": "SUMMARY", "unexpected_index_column_names": key_columns, "partial_unexpected_count": 5}


def validate(
    suite_names: list[str],
    expectation_parameters: dict[str, Any],
    run_name: str,
    settings: Settings | None = None,
    build_docs: bool = True,
) -> dict[str, SuiteRun]:
    """Run the committed validation definitions of these suites; store results; rebuild Data Docs.

    Raises (with the suite name) when GX could not evaluate an expectation at all, e.g. a missing
    table: a check must never pass because nothing was checked.

    The validation runs in a child process, which returns plain values. Once GX has queried
    DuckDB through SQLAlchemy, DuckDB objects stay referenced from below the Python layer (after
    every engine, connection and the GX context are released) until the interpreter exits, where
    DuckDB reports them as dozens of "leaked instance" lines. In a child they never reach the
    process that runs the pipeline.

    The child is forked from a fork server, a small process that imported GX once and never runs
    threads, not from this process: forking a process whose other threads (DuckDB's, Dagster's,
    LightGBM's) may hold a lock at that instant can leave the child waiting on that lock forever.
    The child gets this process's environment and settings, as a forked child would.
    """
    settings = settings or get_settings()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["dagster_project.quality.gx_preload", __name__])
    # A pipe and one process, not a Pool: a Pool's queues hold semaphores that, under load, can
    # outlive the interpreter and make it print a leak warning at exit.
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_in_environment,
        args=(sender, dict(os.environ), suite_names, expectation_parameters, run_name, settings, build_docs),
        name="gx-validation",
    )
    child.start()
    sender.close()
    try:
        outcome, value = receiver.recv()
    except EOFError:
        child.join()
        raise RuntimeError(
            f"the Great Expectations validation process for {', '.join(suite_names)} ended without a result "
            f"(exit code {child.exitcode}); see the run's log above for its output."
        ) from None
    finally:
        receiver.close()
    child.join()
    if outcome == "error":
        raise value
    return value


def _in_environment(sender, environment: dict[str, str], *args) -> None:
    """`_validate_here` with the calling process's environment variables; sends ("ok", result) or
    ("error", exception) back."""
    os.environ.clear()
    os.environ.update(environment)
    try:
        message = ("ok", _validate_here(*args))
    except BaseException as exc:  # noqa: BLE001 (every failure goes back to the caller, which raises it)
        message = ("error", exc)
    try:
        sender.send(message)
    except Exception as exc:  # noqa: BLE001 (an exception that cannot be pickled goes back as text)
        sender.send(("error", RuntimeError(f"{type(message[1]).__name__}: {message[1]}; (not picklable: {exc})")))
    finally:
        sender.close()


def _validate_here(
    suite_names: list[str],
    expectation_parameters: dict[str, Any],
    run_name: str,
    settings: Settings | None,
    build_docs: bool,
) -> dict[str, SuiteRun]:
    """`validate`, in this process."""
    from great_expectations.core.run_identifier import RunIdentifier

    runs: dict[str, SuiteRun] = {}
    with gx_context(settings) as context:
        run_id = RunIdentifier(run_name=run_name)
        for name in suite_names:
            vd = context.validation_definitions.get(name)
            keys = list(vd.suite.meta.get("key_columns", []))
            res = vd.run(
                expectation_parameters=expectation_parameters, result_format=result_format(keys), run_id=run_id
            )
            rows = []
            for r in res.results:
                exc = r.exception_info or {}
                raised = (
                    exc.get("raised_exception")
                    if "raised_exception" in exc
                    else any(isinstance(v, dict) and v.get("raised_exception") for v in exc.values())
                )
                if raised:
                    messages = (
                        [exc.get("exception_message")]
                        if "exception_message" in exc
                        else [v.get("exception_message") for v in exc.values() if isinstance(v, dict)]
                    )
                    raise RuntimeError(
                        f"GX could not evaluate {r.expectation_config.type} of suite '{name}' "
                        f"({r.expectation_config.kwargs}): {'; '.join(str(m) for m in messages)}. "
                        "Check that the table exists (run the upstream assets) and matches the suite; "
                        "regenerate suites with `ahw suites` after contract changes."
                    )
                rows.append(
                    {
                        "type": r.expectation_config.type,
                        "kwargs": dict(r.expectation_config.kwargs),
                        "meta": dict(r.expectation_config.meta or {}),
                        "description": r.expectation_config.description or "",
                        "success": bool(r.success),
                        "result": dict(r.result or {}),
                    }
                )
            runs[name] = SuiteRun(suite=name, success=bool(res.success), results=rows)
        if build_docs:
            rendered = [
                key
                for key in context.validation_results_store.list_keys()
                if key.run_id.run_name == run_name and key.expectation_suite_identifier.name in runs
            ]
            # Only this run's results are rendered (and the index): the pages of earlier runs are
            # already there, and re-rendering every stored result would grow with every day of history.
            context.build_data_docs(resource_identifiers=rendered)
    return runs
