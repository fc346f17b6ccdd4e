"""Publish the marts for BI tools: a read-only DuckDB file and Parquet files, swapped in atomically.

Pure logic, no Dagster: the `published/marts` asset and the erasure job call these functions.

Layout of the publish folder (`AHW_PUBLISH_DIR`, default `data/published`):

    current -> versions/<version>        a symlink; the only thing a publish changes in place
    versions/<version>/account_health.duckdb   schema `marts`, one table per warehouse mart (read-only file)
    versions/<version>/parquet/<table>.parquet
    versions/<version>/manifest.json     run id, published_at, tables with row counts and columns

A new version is written completely under `versions/.tmp-<version>`, renamed into place, and then
`current` is replaced with one `rename(2)` of a new symlink. So a reader that opens
`current/account_health.duckdb` sees either the previous set or the new one, never a mix; a reader never
touches the working warehouse, so it cannot block a refresh, and a refresh never locks the file a
reader has open. A reader that still holds an old file open keeps reading it (on Linux and macOS
the open file survives its removal). A publish killed halfway leaves only a `.tmp-` folder, which
the next publish removes; `current` still points at the last complete set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from dagster_project.core import clock
from dagster_project.core.warehouse import sql_literal

MARTS_SCHEMA = "marts"
CURRENT = "current"
VERSIONS = "versions"
DUCKDB_FILE = "account_health.duckdb"
PARQUET_DIR = "parquet"
MANIFEST_FILE = "manifest.json"
STAGING_PREFIX = ".tmp-"
# The current set and the one before it: a reader that listed the previous set's Parquet files
# just before a swap can still open them.
KEEP_VERSIONS = 2

# Fills a new published DuckDB file (connection to it) with tables in schema `marts`.
Filler = Callable[[duckdb.DuckDBPyConnection], None]


class PublishError(RuntimeError):
    """The publish folder or its source cannot be used."""


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def schema_tables(con: duckdb.DuckDBPyConnection, schema: str = MARTS_SCHEMA, catalog: str | None = None) -> list[str]:
    """Names of the tables and views in `schema` (of `catalog`, or the connection's default database)."""
    catalog_filter = "table_catalog = ?" if catalog else "table_catalog = current_database()"
    params = [schema, catalog] if catalog else [schema]
    rows = con.execute(
        f"SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND {catalog_filter} ORDER BY 1",
        params,
    ).fetchall()
    return [r[0] for r in rows]


def current_dir(publish_dir: Path) -> Path | None:
    """The folder of the current published set, or None before the first publish."""
    link = publish_dir / CURRENT
    if not link.exists():
        return None
    return link.resolve()


def read_manifest(publish_dir: Path) -> dict | None:
    """The manifest of the current published set, or None before the first publish."""
    folder = current_dir(publish_dir)
    if folder is None:
        return None
    return json.loads((folder / MANIFEST_FILE).read_text())


@contextmanager
def _publish_lock(publish_dir: Path) -> Iterator[None]:
    """One publisher at a time per folder (the lock dies with its process, so a kill never leaves it held)."""
    publish_dir.mkdir(parents=True, exist_ok=True)
    with open(publish_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_only(path: Path) -> None:
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    _fsync(path)


def _version_name(published_at: dt.datetime, run_id: str) -> str:
    return f"{published_at:%Y%m%dT%H%M%S%fZ}-{run_id[:8]}"


def _write_version(
    staging: Path, fill: Filler, run_id: str, published_at: dt.datetime, version: str, source: str
) -> dict:
    """Write a complete published set into `staging`: DuckDB file, Parquet files, manifest."""
    (staging / PARQUET_DIR).mkdir(parents=True)
    db_path = staging / DUCKDB_FILE
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"CREATE SCHEMA {MARTS_SCHEMA}")
        fill(con)
        tables = {}
        for name in schema_tables(con):
            qualified = f"{MARTS_SCHEMA}.{quote_ident(name)}"
            parquet = staging / PARQUET_DIR / f"{name}.parquet"
            con.execute(f"COPY {qualified} TO {sql_literal(parquet)} (FORMAT parquet, COMPRESSION zstd)")
            rows = con.execute(f"SELECT count(*) FROM {qualified}").fetchall()[0][0]
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [MARTS_SCHEMA, name],
            ).fetchall()
            tables[name] = {
                "rows": int(rows),
                "columns": [{"name": c, "type": t} for c, t in columns],
                "parquet": f"{PARQUET_DIR}/{name}.parquet",
            }
        con.execute("CHECKPOINT")
    finally:
        con.close()
    if not tables:
        raise PublishError(
            f"nothing to publish: {source} has no tables in schema '{MARTS_SCHEMA}'. "
            "Run the full_refresh job first (make run does)."
        )
    manifest = {
        "version": version,
        "run_id": run_id,
        "published_at": published_at.isoformat(),
        "source": source,
        "duckdb": DUCKDB_FILE,
        "tables": tables,
    }
    (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for path in [db_path, staging / MANIFEST_FILE, *(staging / PARQUET_DIR).iterdir()]:
        _read_only(path)
    return manifest


def _swap_current(publish_dir: Path, version: str) -> None:
    """Point `current` at versions/<version> with one atomic rename of a fresh symlink."""
    tmp_link = publish_dir / f"{STAGING_PREFIX}{CURRENT}-{version}"
    os.symlink(Path(VERSIONS) / version, tmp_link)  # relative: the folder can be moved or mounted elsewhere
    os.replace(tmp_link, publish_dir / CURRENT)
    _fsync(publish_dir)


def _prune(publish_dir: Path, keep: int = KEEP_VERSIONS) -> list[str]:
    """Remove leftovers of killed publishes and all but the newest `keep` versions (never the current one)."""
    removed = []
    for leftover in publish_dir.glob(f"{STAGING_PREFIX}*"):
        leftover.unlink()
        removed.append(leftover.name)
    versions_dir = publish_dir / VERSIONS
    current = current_dir(publish_dir)
    for leftover in versions_dir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(leftover)
        removed.append(leftover.name)
    # The current set always stays and counts as one of the kept; the others go oldest first. Two
    # versions can share a timestamp (a pinned clock), so the name's run-id part never orders them:
    # the time their manifest was written does.
    others = sorted(
        (p for p in versions_dir.iterdir() if not p.name.startswith(STAGING_PREFIX) and p != current),
        key=_completed_order,
    )
    keep_others = keep - 1 if current is not None else keep
    for old in others[: max(len(others) - keep_others, 0)]:
        shutil.rmtree(old)
        removed.append(old.name)
    return removed


def _completed_order(version_dir: Path) -> tuple[str, int]:
    """Sort key of a complete version: its publish time, then when its manifest was written."""
    manifest = version_dir / MANIFEST_FILE
    written = manifest.stat().st_mtime_ns if manifest.exists() else 0
    return version_dir.name.split("-", 1)[0], written


def publish_with(
    publish_dir: Path, fill: Filler, run_id: str, source: str, published_at: dt.datetime | None = None
) -> dict:
    """Write a new published set with `fill`, then make it current atomically. Returns its manifest."""
    published_at = published_at or clock.now_utc()
    version = _version_name(published_at, run_id)
    with _publish_lock(publish_dir):
        versions_dir = publish_dir / VERSIONS
        versions_dir.mkdir(parents=True, exist_ok=True)
        _prune(publish_dir)
        staging = versions_dir / f"{STAGING_PREFIX}{version}"
        try:
            manifest = _write_version(staging, fill, run_id, published_at, version, source)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        os.rename(staging, versions_dir / version)
        _fsync(versions_dir)
        _swap_current(publish_dir, version)
        _prune(publish_dir)
    return manifest


def copy_schema_from(database: Path) -> Filler:
    """A filler that copies every table and view of schema `marts` of another DuckDB file, read-only."""

    def fill(con: duckdb.DuckDBPyConnection) -> None:
        if not database.exists():
            raise PublishError(
                f"cannot publish: the DuckDB file {database} does not exist. "
                "Run the full_refresh job first (make run does), or set AHW_DUCKDB_PATH."
            )
        con.execute(f"ATTACH {sql_literal(database)} AS source (READ_ONLY)")
        try:
            for name in schema_tables(con, MARTS_SCHEMA, catalog="source"):
                table = quote_ident(name)
                con.execute(f"CREATE TABLE {MARTS_SCHEMA}.{table} AS SELECT * FROM source.{MARTS_SCHEMA}.{table}")
        finally:
            con.execute("DETACH source")

    return fill


def publish_marts(warehouse: Path, publish_dir: Path, run_id: str) -> dict:
    """Publish every table of the warehouse's `marts` schema (whatever exists now). Returns the manifest."""
    return publish_with(publish_dir, copy_schema_from(warehouse), run_id, source=str(warehouse))


def main(argv: list[str] | None = None) -> None:
    """CLI: publish the configured warehouse's marts now (the asset does this after every refresh)."""
    import uuid

    from dagster_project.core.settings import get_settings

    parser = argparse.ArgumentParser(prog="ahw publish", description=__doc__.splitlines()[0])
    parser.add_argument("--run-id", default=f"manual-{uuid.uuid4()}", help="recorded in the manifest")
    args = parser.parse_args(argv)
    settings = get_settings()
    manifest = publish_marts(settings.duckdb_path, settings.publish_dir, args.run_id)
    print(
        f"Published {len(manifest['tables'])} tables to {settings.publish_dir / CURRENT} "
        f"(version {manifest['version']}):"
    )
    for name, table in manifest["tables"].items():
        print(f"  marts.{name}: {table['rows']:,} rows")
