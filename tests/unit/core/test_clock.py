"""The one clock: AHW_NOW pins every reader of "now", and no module reads the wall clock around it."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

import dagster_project
from dagster_project.core import clock

PACKAGE = Path(dagster_project.__file__).parent
CLOCK_MODULE = PACKAGE / "core" / "clock.py"
# Calls that read the machine's clock as a date or time of day (durations use time.perf_counter;
# dt.time(5) builds a time of day and reads nothing).
DATE_CLOCK_CALLS = {"now", "utcnow", "today"}
DATE_OWNERS = {"datetime", "date", "dt", "Timestamp", "pd"}
TIME_MODULE_CALLS = {"time", "localtime", "gmtime", "ctime"}
WALL_CLOCK_STRINGS = {"now", "today"}


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def wall_clock_reads(source: str) -> list[tuple[int, str]]:
    """(line, call) of every read of the machine's clock in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        parts = name.split(".")
        if len(parts) >= 2 and (
            parts[-1] in DATE_CLOCK_CALLS
            and parts[-2] in DATE_OWNERS
            or parts[-1] in TIME_MODULE_CALLS
            and parts[-2:] == ["time", parts[-1]]
            and len(parts) == 2
        ):
            found.append((node.lineno, name))
        # pd.Timestamp("now"), pd.to_datetime("today"), np.datetime64("now")
        elif parts[-1] in {"Timestamp", "to_datetime", "datetime64"} and any(
            isinstance(a, ast.Constant) and a.value in WALL_CLOCK_STRINGS for a in node.args
        ):
            found.append((node.lineno, f"{name}({node.args[0].value!r})"))
    return found


def test_the_scanner_finds_every_kind_of_wall_clock_read():
    # Source text for the scanner to parse, never executed: the reads below are the cases it must find.
    source = (
        "import time, datetime as dt\nimport pandas as pd\n"
        "a = dt.datetime.now(dt.timezone.utc)\nb = dt.date.today()\nc = time.time()\n"
        "d = pd.Timestamp.now()\ne = pd.Timestamp('today')\nf = datetime.utcnow()\n"
        "g = time.perf_counter()\nh = dt.datetime.fromisoformat('2026-01-01')\ni = dt.time(5)\n"
    )
    assert [line for line, _ in wall_clock_reads(source)] == [3, 4, 5, 6, 7, 8]


def test_no_module_outside_the_clock_reads_the_wall_clock():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {call}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != CLOCK_MODULE
        for line, call in wall_clock_reads(path.read_text())
    ]
    assert not offenders, (
        "these read the machine's clock; use dagster_project.core.clock.now() "
        "(or clock.wall_clock() where the real time is needed on purpose):\n" + "\n".join(offenders)
    )


def test_ahw_now_pins_now_today_and_yesterday(monkeypatch):
    monkeypatch.setenv("AHW_NOW", "2026-11-01T05:00:00+01:00")
    assert clock.now().isoformat() == "2026-11-01T04:00:00"
    assert clock.now_utc() == dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC)
    assert clock.today() == dt.date(2026, 11, 1)
    assert clock.yesterday() == dt.date(2026, 10, 31)
    # a pinned clock wins over a schedule tick's time
    assert clock.now(dt.datetime(2030, 1, 1)) == dt.datetime(2026, 11, 1, 4)


def test_without_ahw_now_the_tick_time_or_the_wall_clock_is_now(monkeypatch):
    monkeypatch.delenv("AHW_NOW", raising=False)
    assert clock.now(dt.datetime(2030, 1, 1, 5)) == dt.datetime(2030, 1, 1, 5)
    before = clock.wall_clock()
    assert before <= clock.now_utc() <= clock.wall_clock()


def test_a_bad_ahw_now_names_the_variable(monkeypatch):
    monkeypatch.setenv("AHW_NOW", "yesterday")
    with pytest.raises(ValueError, match="AHW_NOW='yesterday'"):
        clock.now()


def test_the_newest_partition_follows_the_pinned_clock(monkeypatch):
    from dagster_project.defs.partitions import FULL_REFRESH_TAG, full_refresh_tags, newest_partition_key

    monkeypatch.setenv("AHW_NOW", "2026-11-23T05:00:00")
    assert newest_partition_key() == "2026-11-22"
    # a full refresh is one run over every partition, first to newest
    assert full_refresh_tags() == {
        "dagster/asset_partition_range_start": "2024-01-01",
        "dagster/asset_partition_range_end": "2026-11-22",
        FULL_REFRESH_TAG: "true",
    }
    monkeypatch.setenv("AHW_NOW", "2025-03-02T00:30:00")
    assert newest_partition_key() == "2025-03-01"
    # without a pin, a schedule tick's own time decides
    monkeypatch.delenv("AHW_NOW")
    assert newest_partition_key(dt.datetime(2026, 1, 10, 5, tzinfo=dt.UTC)) == "2026-01-09"


def test_the_daily_schedule_runs_the_clocks_newest_day(monkeypatch):
    import dagster as dg

    from dagster_project.defs.automation import daily_refresh_schedule

    monkeypatch.setenv("AHW_NOW", "2026-11-23T05:00:00")
    with dg.build_schedule_context(scheduled_execution_time=dt.datetime(2027, 6, 1, 5, tzinfo=dt.UTC)) as context:
        request = daily_refresh_schedule(context)
    assert request.partition_key == "2026-11-22"
    monkeypatch.delenv("AHW_NOW")
    with dg.build_schedule_context(scheduled_execution_time=dt.datetime(2027, 6, 1, 5, tzinfo=dt.UTC)) as context:
        request = daily_refresh_schedule(context)
    assert request.partition_key == "2027-05-31"
