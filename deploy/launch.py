"""Launch a job through the workspace, as the UI does, and wait for its result (`make run`).

The run is created from the code location `workspace.yaml` names (`dagster job launch -w`), so in
the UI it belongs to its job: the job's Runs tab lists it, the Overview timeline shows it, and
Re-execute works. The instance queues runs (one at a time: DuckDB allows one writer), so a daemon
must dequeue it: the one `make dev` runs when it is up, else one started here for this run only.

    python deploy/launch.py full_refresh --tags '{"ahw/full_refresh": "true"}'
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKSPACE = ROOT / "workspace.yaml"
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
# Loading the code location (dbt manifest included) takes the daemon a while on a small machine.
QUEUED_TIMEOUT_S = 600


def daemon_running(instance: dg.DagsterInstance) -> bool:
    """True when a daemon with a recent heartbeat dequeues runs for this instance."""
    statuses = instance.get_daemon_statuses(["QUEUED_RUN_COORDINATOR"])
    return any(status.healthy for status in statuses.values())


def start_daemon(log: Path) -> subprocess.Popen:
    """A daemon for this run only, in its own session so it can be stopped with what it started."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen) -> None:
    """Stop the daemon and its code server."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_for(instance: dg.DagsterInstance, run_id: str, daemon: subprocess.Popen | None, log: Path) -> dg.DagsterRun:
    """Poll the run until it ends; report when it starts; fail clearly when it cannot."""
    queued_since = time.monotonic()
    last = None
    while True:
        run = instance.get_run_by_id(run_id)
        if run.status != last:
            print(f"run {run_id}: {run.status.value}", flush=True)
            last = run.status
        if run.status in FINISHED:
            return run
        if daemon is not None and daemon.poll() is not None:
            sys.exit(f"The daemon started for this run exited ({daemon.returncode}); its log: {log}")
        if run.status == dg.DagsterRunStatus.QUEUED and time.monotonic() - queued_since > QUEUED_TIMEOUT_S:
            sys.exit(
                f"Run {run_id} is still queued after {QUEUED_TIMEOUT_S} s: no daemon dequeued it. Is another run "
                "in progress? See the UI (make dev) or the daemon log: " + str(log)
            )
        time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job")
    parser.add_argument("--tags", default="{}", help="run tags as JSON")
    args = parser.parse_args()
    run_id = str(uuid.uuid4())
    with dg.DagsterInstance.get() as instance:
        log = Path(instance.root_directory) / "launch_daemon.log"
        daemon = None if daemon_running(instance) else start_daemon(log)
        try:
            subprocess.run(
                [
                    str(BIN / "dagster"),
                    "job",
                    "launch",
                    "-w",
                    str(WORKSPACE),
                    "-j",
                    args.job,
                    "--tags",
                    json.dumps(json.loads(args.tags)),
                    "--run-id",
                    run_id,
                ],
                cwd=ROOT,
                check=True,
            )
            run = wait_for(instance, run_id, daemon, log)
        finally:
            if daemon is not None:
                stop(daemon)
    if run.status != dg.DagsterRunStatus.SUCCESS:
        sys.exit(f"{args.job} run {run_id} ended {run.status.value}: see its logs in the UI (make dev).")


if __name__ == "__main__":
    main()
