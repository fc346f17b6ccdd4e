"""Benchmark: the real pipeline stages at a named scale, with the table of SPEC section 9.

    ahw bench --scale small|medium|large      (or: make bench SCALE=...)

In a fresh data folder (data/bench/<scale>/): simulate a company whose events of the last day are
held back as that day's delivery; ingest (with the data-quality checks), dbt full build, the floor
(one DuckDB aggregation pass over raw events by account and day), train, score, publish (when a
publish asset exists); then land the held-back day and run the one-day incremental refresh
(ingest + checks + dbt for the newest daily partition), and the rest of that morning's daily job
(score the new snapshots, publish). Every stage is a Dagster execution of the
project's own assets, in this process (dbt runs as its child process).

Prints rows per table, wall time per stage, the peak memory of the whole process tree (this
process and every child, sampled) and the two ratios; writes the same as JSON to
data/bench/<scale>-<timestamp>.json for comparison across commits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import psutil

from dagster_project.core import clock
from dagster_project.core.settings import ENGINES, REPO_ROOT

# Targets of SPEC section 9 (large scale, 2 cores, 24 GB).
TARGET_PIPELINE_SECONDS = 15 * 60
TARGET_INCREMENTAL_RATIO = 0.05
TARGET_PEAK_BYTES = 6 * 1024**3
TARGET_FLOOR_RATIO = 5.0


@dataclass(frozen=True)
class Scale:
    """A named company size: accounts, months of history and the simulator's event volume."""

    accounts: int
    months: int
    event_volume: float


# 18 months: training needs at least 53 labelled weeks (train, calibration and test, separated by
# two 90-day gaps), which 12 months of history do not have.
SCALES = {
    "small": Scale(accounts=500, months=18, event_volume=1.0),  # about 3 M events
    "medium": Scale(accounts=2_000, months=18, event_volume=2.2),  # about 20 M events
    "large": Scale(accounts=10_000, months=18, event_volume=2.2),  # about 100 M events
}
# The pipeline proper: what a first full refresh costs (generating data and the daily refresh are not in it).
PIPELINE_STAGES = ("ingest", "dbt_full_build", "train", "score", "publish")


class PeakMemory:
    """Samples the resident memory of this process and all its descendants, in a thread, and the
    machine's 1-minute load average (other work on a shared machine slows every stage)."""

    def __init__(self, interval_seconds: float = 0.2):
        self.interval = interval_seconds
        self.peak_bytes = 0
        self.stage_peak_bytes = 0  # since the last reset_stage()
        self.load_samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def tree_rss(self) -> int:
        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue  # a child that ended between listing and sampling
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self.tree_rss()
            self.peak_bytes = max(self.peak_bytes, rss)
            self.stage_peak_bytes = max(self.stage_peak_bytes, rss)
            self.load_samples.append(os.getloadavg()[0])
            self._stop.wait(self.interval)

    def reset_stage(self) -> None:
        self.stage_peak_bytes = self.tree_rss()

    @property
    def mean_load(self) -> float:
        return sum(self.load_samples) / max(1, len(self.load_samples))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Stage:
    name: str
    seconds: float
    note: str = ""
    peak_memory_bytes: int = 0  # of the process tree during this stage


@dataclass
class BenchResult:
    scale: str
    config: dict
    commit: str
    started_at: str
    stages: list[Stage] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    peak_memory_bytes: int = 0
    floor_seconds: float = 0.0
    feature_build_seconds: float = 0.0
    rows_after_refresh: dict[str, int] = field(default_factory=dict)
    # per stage: the wall time of each Dagster step, and dbt's execution time of its slowest nodes
    step_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    dbt_node_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    cpu_count: int = field(default_factory=lambda: os.cpu_count() or 0)
    mean_load_average: float = 0.0
    notes: list[str] = field(default_factory=list)
    # the warehouse engine the dbt models ran on (AHW_ENGINE, docs/engines.md)
    engine: str = "duckdb"

    def seconds(self, name: str) -> float:
        return sum(s.seconds for s in self.stages if s.name == name)

    @property
    def pipeline_seconds(self) -> float:
        return sum(self.seconds(name) for name in PIPELINE_STAGES)

    @property
    def full_build_seconds(self) -> float:
        """What the incremental refresh replaces: ingest (with checks) and the dbt full build."""
        return self.seconds("ingest") + self.seconds("dbt_full_build")

    @property
    def daily_job_seconds(self) -> float:
        """A morning's whole daily_refresh job: the incremental refresh, then score and publish."""
        return self.seconds("incremental_refresh") + self.seconds("daily_score_publish")

    @property
    def incremental_ratio(self) -> float:
        return self.seconds("incremental_refresh") / self.full_build_seconds

    @property
    def floor_ratio(self) -> float:
        return self.feature_build_seconds / self.floor_seconds

    def targets(self) -> dict[str, dict]:
        """Each SPEC target with the measured value and whether it is met (the targets are for `large`)."""
        return {
            "whole_pipeline_seconds": _target(self.pipeline_seconds, TARGET_PIPELINE_SECONDS),
            "incremental_vs_full": _target(self.incremental_ratio, TARGET_INCREMENTAL_RATIO),
            "peak_memory_bytes": _target(self.peak_memory_bytes, TARGET_PEAK_BYTES),
            "feature_build_vs_floor": _target(self.floor_ratio, TARGET_FLOOR_RATIO),
        }

    def to_json(self) -> dict:
        data = asdict(self)
        data.update(
            pipeline_seconds=self.pipeline_seconds,
            full_build_seconds=self.full_build_seconds,
            daily_job_seconds=self.daily_job_seconds,
            incremental_ratio=self.incremental_ratio,
            floor_ratio=self.floor_ratio,
            targets=self.targets(),
        )
        return data

    @classmethod
    def from_json(cls, data: dict) -> BenchResult:
        """A result read back from its JSON file (the derived numbers are recomputed)."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["stages"] = [Stage(**stage) for stage in data.get("stages", [])]
        return cls(**known)


def _target(measured: float, limit: float) -> dict:
    return {"measured": measured, "target": limit, "met": measured <= limit, "over_by": max(0.0, measured / limit - 1)}


def _git_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True).stdout
    return result.stdout.strip() + ("-dirty" if dirty.strip() else "")


def _configure_environment(root: Path, now: dt.datetime) -> None:
    """Point every setting at the fresh bench folder (before the Dagster definitions load)."""
    os.environ.update(
        {
            "AHW_DATA_DIR": str(root),
            "AHW_LANDING_DIR": str(root / "landing"),
            "AHW_DUCKDB_PATH": str(root / "warehouse.duckdb"),
            "AHW_ARTIFACTS_DIR": str(root / "models"),
            "AHW_DUCKDB_TEMP_DIRECTORY": str(root / "duckdb_tmp"),
            "AHW_DATA_DOCS_DIR": str(root / "data_docs"),
            "AHW_GX_RESULTS_DIR": str(root / "gx_validations"),
            "AHW_NOW": now.isoformat(),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )


class StepSeconds(dict):
    """Seconds per Dagster step of one run (a stage's result, told apart from what other stages return)."""


class Pipeline:
    """Runs selections of the project's assets in this process, on one ephemeral Dagster instance."""

    def __init__(self) -> None:
        import dagster as dg

        from dagster_project.definitions import defs

        self.dg = dg
        self.defs = defs()
        self.instance = dg.DagsterInstance.ephemeral()
        self.asset_keys = {key for key in self.defs.resolve_asset_graph().get_all_asset_keys()}
        self._jobs = 0

    def has_group(self, group: str) -> bool:
        graph = self.defs.resolve_asset_graph()
        return any(graph.get(key).group_name == group for key in self.asset_keys)

    def run(self, selection, partition_key: str | None = None) -> StepSeconds:
        """Materialize `selection` (with its asset checks) for one daily partition, or else as a full
        refresh (as `make run` does); fail loudly if any step fails. Returns each step's seconds."""
        from dagster_project.defs.partitions import full_refresh_tags

        dg = self.dg
        self._jobs += 1
        name = f"bench_{self._jobs}"
        job_defs = dg.Definitions.merge(
            self.defs, dg.Definitions(jobs=[dg.define_asset_job(name, selection=selection)])
        )
        result = job_defs.resolve_job_def(name).execute_in_process(
            instance=self.instance,
            raise_on_error=False,
            **({"partition_key": partition_key} if partition_key else {"tags": full_refresh_tags()}),
        )
        if not result.success:
            failed = [e.step_key for e in result.all_events if e.is_step_failure]
            raise RuntimeError(f"bench stage failed in steps {failed}; see the Dagster log above")
        return StepSeconds(
            {e.step_key: e.event_specific_data.duration_ms / 1000.0 for e in result.all_events if e.is_step_success}
        )


def _timed(result: BenchResult, memory: PeakMemory, name: str, fn, note: str = "") -> None:
    """Run one stage; record its wall time, peak memory, its Dagster steps' and dbt nodes' times."""
    print(f"[bench] {name} ...", flush=True)
    memory.reset_stage()
    # the file system's clock, not the project's: dbt's run_results.json files are told apart by mtime
    wall_started, started = clock.wall_clock().timestamp(), time.perf_counter()
    outcome = fn()
    seconds = time.perf_counter() - started
    result.stages.append(Stage(name, seconds, note, memory.stage_peak_bytes))
    if isinstance(outcome, StepSeconds) and outcome:
        result.step_seconds[name] = dict(sorted(outcome.items(), key=lambda kv: -kv[1]))
    nodes = _dbt_node_seconds(wall_started)
    if nodes:
        result.dbt_node_seconds[name] = nodes
    print(f"[bench] {name}: {seconds:.1f} s", flush=True)


def _count_rows(duckdb_path: Path) -> dict[str, int]:
    from dagster_project.core.warehouse import connect

    rows = {}
    with connect(read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema IN ('raw', 'quarantine', 'staging', 'intermediate', 'marts') ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            rows[f"{schema}.{table}"] = con.execute(f'SELECT count(*) FROM {schema}."{table}"').fetchall()[0][0]
    return rows


def _floor_seconds() -> float:
    """One DuckDB aggregation pass over raw events by account and day: the floor of any feature build."""
    from dagster_project.core.warehouse import connect

    with connect() as con:
        started = time.perf_counter()
        con.execute(
            "CREATE OR REPLACE TEMP TABLE bench_floor AS SELECT account_id, cast(occurred_at AS DATE) AS day, "
            "count(*) AS events, count(DISTINCT user_id) AS active_users "
            "FROM raw.events GROUP BY ALL"
        )
        return time.perf_counter() - started


FEATURE_MART = "model.account_health.fct_account_features_weekly"


def _run_results(since: float) -> list[dict]:
    """The node results of every run_results.json dbt wrote after `since` (seconds since the epoch, wall clock)."""
    from dagster_project.core.settings import get_settings
    from dagster_project.defs.transform.assets import dbt_target_path

    results = []
    for path in dbt_target_path(get_settings()).rglob("run_results.json"):
        if path.stat().st_mtime >= since:
            results += json.loads(path.read_text()).get("results", [])
    return results


def _dbt_node_seconds(since: float, top: int = 12) -> dict[str, float]:
    """dbt's execution time of its slowest nodes (models and tests) since `since`."""
    times: dict[str, float] = {}
    for r in _run_results(since):
        kind, _, name = r["unique_id"].split(".")[:3]  # e.g. model.account_health.stg_product__events
        name = f"{kind} {name}"
        times[name] = times.get(name, 0.0) + float(r.get("execution_time") or 0.0)
    return dict(sorted(times.items(), key=lambda kv: -kv[1])[:top])


def _feature_build_seconds(since: float) -> float:
    """dbt's own execution time of the weekly feature mart and every model upstream of it, from the
    run_results.json files dbt wrote after `since` (seconds since the epoch, wall clock).
    Tests and dbt start-up excluded."""
    from dagster_project.defs.transform.project import dbt_project

    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    upstream, todo = set(), [FEATURE_MART]
    while todo:
        node = todo.pop()
        if node in upstream or not node.startswith("model."):
            continue
        upstream.add(node)
        todo += manifest["nodes"][node]["depends_on"]["nodes"]
    return sum(r.get("execution_time", 0.0) for r in _run_results(since) if r["unique_id"] in upstream)


def run(scale_name: str, out_dir: Path, reuse_company: bool = False, engine: str = "duckdb") -> BenchResult:
    """Run every stage at one scale; returns the measures. With `reuse_company`, the company an
    earlier bench of the same scale generated (same day) is kept and only the derived data is removed.
    `engine` is the warehouse engine (AHW_ENGINE); Spark benches in a folder of their own."""
    from dagster_project.simulate import SimulationConfig, generate

    scale = SCALES[scale_name]
    root = out_dir / (scale_name if engine == "duckdb" else f"{scale_name}-{engine}")
    os.environ["AHW_ENGINE"] = engine
    landing, held = root / "landing", root / "held"
    # The newest daily partition is yesterday (UTC); that day's events are the held-back delivery.
    last_day = clock.yesterday()
    delivery = f"received-{last_day}.parquet"
    if reuse_company and (landing / "events" / delivery).exists():
        # an earlier bench of today landed the held-back day in its incremental refresh: hold it back again
        held.mkdir(exist_ok=True)
        shutil.move(landing / "events" / delivery, held / delivery)
    reuse = reuse_company and (held / delivery).exists() and landing.is_dir()
    if root.exists():
        for path in root.iterdir():
            if not (reuse and path in (landing, held)):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    root.mkdir(parents=True, exist_ok=True)
    # The full run happens at the end of the last simulated day: every row of that day (a
    # subscription renewed in its afternoon, say) is in the past, and the newest daily partition is
    # still the day before, so the held-back delivery is the next morning's partition.
    _configure_environment(root, dt.datetime.combine(last_day, dt.time.max))

    result = BenchResult(
        scale=scale_name,
        config=asdict(scale) | {"end_date": last_day.isoformat()},
        commit=_git_commit(),
        started_at=clock.wall_clock().isoformat(),
        engine=engine,
    )
    with PeakMemory() as memory:
        timed = partial(_timed, result, memory)
        config = SimulationConfig(
            n_accounts=scale.accounts,
            months=scale.months,
            seed=42,
            end_date=last_day,
            event_volume=scale.event_volume,
            last_day_file=True,
        )
        if reuse:
            result.notes.append("generate: the company of an earlier run was reused (--reuse-company)")
        else:
            shutil.rmtree(landing, ignore_errors=True)
            shutil.rmtree(held, ignore_errors=True)
            timed("generate", lambda: generate(config, landing))
            held.mkdir()
            shutil.move(landing / "events" / delivery, held / delivery)

        pipeline = Pipeline()
        dg = pipeline.dg
        ingest = dg.AssetSelection.groups("ingest")
        from dagster_project.defs.transform.assets import dbt_models

        # the dbt models only: the health marts (group marts too) are scored after training
        dbt = dg.AssetSelection.assets(dbt_models)
        timed("ingest", lambda: pipeline.run(ingest))
        dbt_started = clock.wall_clock().timestamp()
        timed("dbt_full_build", lambda: pipeline.run(dbt))
        result.feature_build_seconds = _feature_build_seconds(dbt_started)
        result.rows = _count_rows(root / "warehouse.duckdb")
        result.floor_seconds = _floor_seconds()
        # training: the models that need only the dbt tables (the uplift model learns from the alerts'
        # outcomes, which scoring writes, so it runs with the scoring stage)
        train = dg.AssetSelection.groups("models") - dg.AssetSelection.groups("health").downstream()
        timed("train", lambda: pipeline.run(train))
        scored = dg.AssetSelection.all() - ingest - dbt - train - dg.AssetSelection.groups("publish")
        timed("score", lambda: pipeline.run(scored))
        if pipeline.has_group("publish"):
            timed("publish", lambda: pipeline.run(dg.AssetSelection.groups("publish")))
        else:
            result.notes.append("publish: no asset group `publish` in this version; not measured")

        # The next morning: the day's delivery lands and the daily partition of that day runs.
        shutil.move(held / delivery, landing / "events" / delivery)
        os.environ["AHW_NOW"] = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(5)).isoformat()
        timed(
            "incremental_refresh",
            lambda: pipeline.run(ingest | dbt, partition_key=last_day.isoformat()),
            note=f"partition {last_day}: ingest + checks + dbt",
        )
        # the rest of the morning's daily_refresh job: score the new week's snapshots, publish
        timed(
            "daily_score_publish",
            lambda: pipeline.run(scored | dg.AssetSelection.groups("publish")),
            note="score + publish after the refresh",
        )
        result.rows_after_refresh = {
            k: v
            for k, v in _count_rows(root / "warehouse.duckdb").items()
            if k in ("raw.events", "staging.stg_product__events")
        }
    result.peak_memory_bytes = memory.peak_bytes
    result.mean_load_average = memory.mean_load
    return result


def render(result: BenchResult) -> str:
    """The SPEC section 9 table as text."""
    gib = 1024**3
    lines = [
        f"benchmark {result.scale} on {result.engine}: {result.config}  commit {result.commit}",
        "",
        "rows per table",
    ]
    lines += [f"  {name:<52} {n:>14,}" for name, n in result.rows.items()]
    lines += ["", "wall time per stage"]
    lines += [
        f"  {s.name:<24} {s.seconds:>9.1f} s  peak {s.peak_memory_bytes / gib:5.2f} GiB  {s.note}"
        for s in result.stages
    ]
    for stage, steps in result.step_seconds.items():
        slow = [f"{key} {seconds:.1f} s" for key, seconds in steps.items() if seconds >= 1.0]
        lines.append(f"    {stage} steps: {', '.join(slow[:8]) or 'all under 1 s'}")
    for stage, nodes in result.dbt_node_seconds.items():
        lines.append(
            f"    {stage} slowest dbt nodes: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in list(nodes.items())[:6])
        )
    lines += [
        f"  {'whole pipeline':<24} {result.pipeline_seconds:>9.1f} s  ({' + '.join(PIPELINE_STAGES)})",
        "",
        f"peak memory (process tree)  {result.peak_memory_bytes / gib:.2f} GiB",
        f"machine load                {result.mean_load_average:.1f} on {result.cpu_count} cores (mean 1-minute load "
        "average during the run; above the core count, other work slowed every stage)",
        f"feature build vs floor      {result.feature_build_seconds:.1f} s / {result.floor_seconds:.1f} s "
        f"= {result.floor_ratio:.1f}x",
        f"incremental vs full build   {result.seconds('incremental_refresh'):.1f} s / "
        f"{result.full_build_seconds:.1f} s = {100 * result.incremental_ratio:.1f} %",
        f"daily_refresh job           {result.daily_job_seconds:.1f} s (incremental refresh + score + publish)",
        "",
        "targets (SPEC section 9, stated for the large scale)",
    ]
    for name, t in result.targets().items():
        verdict = "met" if t["met"] else f"missed by {100 * t['over_by']:.0f} %"
        lines.append(f"  {name:<26} {t['measured']:>14.3f} <= {t['target']:<14g} {verdict}")
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


def compare(results: list[BenchResult]) -> str:
    """Runs side by side (e.g. the same scale on both engines) as one Markdown table: wall time and
    peak memory per stage, the whole pipeline, the daily job and the machine's load."""
    gib = 1024**3
    header = [f"{r.engine} ({r.scale}, {r.commit})" for r in results]
    lines = ["| stage | " + " | ".join(header) + " |", "| --- |" + " --- |" * len(results)]

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def cell(r: BenchResult, name: str) -> str:
        stage = next((s for s in r.stages if s.name == name), None)
        if stage is None:
            return "not run"
        return f"{stage.seconds:.1f} s, {stage.peak_memory_bytes / gib:.2f} GiB"

    for name in dict.fromkeys(stage.name for r in results for stage in r.stages):
        row(name, [cell(r, name) for r in results])
    row(f"**whole pipeline** ({' + '.join(PIPELINE_STAGES)})", [f"**{r.pipeline_seconds:.1f} s**" for r in results])
    row("daily job (incremental refresh + score + publish)", [f"{r.daily_job_seconds:.1f} s" for r in results])
    row("peak memory (process tree)", [f"{r.peak_memory_bytes / gib:.2f} GiB" for r in results])
    row("events", [f"{r.rows.get('raw.events', 0):,}" for r in results])
    row("mean load", [f"{r.mean_load_average:.1f} on {r.cpu_count} cores" for r in results])
    if len(results) > 1 and results[0].pipeline_seconds:
        base = results[0]
        row(
            f"whole pipeline vs {base.engine}",
            [f"{r.pipeline_seconds / base.pipeline_seconds:.1f}x" for r in results],
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ahw bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT / "data" / "bench",
        help="folder for the bench data and the JSON results (default data/bench)",
    )
    parser.add_argument(
        "--reuse-company",
        action="store_true",
        help="keep the simulated company of an earlier bench of this scale (made today) instead of "
        "generating it again; everything derived from it is rebuilt",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=os.environ.get("AHW_ENGINE") or "duckdb",
        help="the warehouse engine of the dbt models (default: AHW_ENGINE, else duckdb; docs/engines.md)",
    )
    parser.add_argument(
        "--compare",
        nargs="+",
        type=Path,
        metavar="RESULT_JSON",
        help="print earlier results (data/bench/*.json) side by side as one table instead of running",
    )
    args = parser.parse_args(argv)
    if args.compare:
        print(compare([BenchResult.from_json(json.loads(path.read_text())) for path in args.compare]))
        return 0
    result = run(args.scale, args.out.resolve(), reuse_company=args.reuse_company, engine=args.engine)
    stamp = clock.wall_clock().strftime("%Y%m%dT%H%M%SZ")  # the report file is named after when the bench ran
    suffix = "" if args.engine == "duckdb" else f"-{args.engine}"
    path = args.out.resolve() / f"{args.scale}{suffix}-{stamp}.json"
    path.write_text(json.dumps(result.to_json(), indent=2, default=str))
    print(render(result))
    print(f"\nresults: {path}")
    return 0
