"""Publishing for BI: after a successful refresh, every mart goes to a read-only DuckDB file and Parquet.

The asset depends on every asset in schema `marts`, whichever area defines it, so it runs last and
only when all of them (and their blocking checks) succeeded. Its dependencies are read from the
loaded definitions (see `published_marts_definitions`), so a new mart is published without editing
this file. The work happens in `dagster_project.serve.publish`.
"""

from collections.abc import Iterable

import dagster as dg

from dagster_project.core.settings import get_settings
from dagster_project.core.warehouse import connect
from dagster_project.serve import publish
from dagster_project.serve.spark_marts import write_back_python_marts

PUBLISH_GROUP = "publish"
PUBLISHED_MARTS_KEY = dg.AssetKey(["published", "marts"])


def mart_keys(definitions: dg.Definitions) -> list[dg.AssetKey]:
    """Keys of every asset in the warehouse schema `marts` (dbt models and Python assets alike)."""
    keys: set[dg.AssetKey] = set()
    for item in definitions.assets or []:
        if isinstance(item, dg.AssetsDefinition):
            keys.update(item.keys)
        elif isinstance(item, dg.AssetSpec):
            keys.add(item.key)
    return sorted(k for k in keys if k.path[0] == publish.MARTS_SCHEMA)


def build_published_marts(deps: Iterable[dg.AssetKey]) -> dg.AssetsDefinition:
    """The `published/marts` asset, downstream of `deps` (every mart)."""

    @dg.asset(
        key=PUBLISHED_MARTS_KEY,
        group_name=PUBLISH_GROUP,
        deps=list(deps),
        kinds={"duckdb", "parquet"},
        description="Every table of schema `marts`, published atomically for BI tools: "
        "`$AHW_PUBLISH_DIR/current/account_health.duckdb` (read-only) and `current/parquet/{table}.parquet`, "
        "with a manifest. Readers never see half a refresh and never block one. On Spark "
        "(AHW_ENGINE=spark), the marts the Python steps wrote also become Spark tables `marts.<table>`.",
    )
    def published_marts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        settings = get_settings()
        manifest = publish.publish_marts(settings.duckdb_path, settings.publish_dir, context.run_id)
        rows = {name: table["rows"] for name, table in manifest["tables"].items()}
        listing = dg.MetadataValue.table(
            records=[dg.TableRecord({"table": f"marts.{n}", "rows": r}) for n, r in rows.items()],
            schema=dg.TableSchema(columns=[dg.TableColumn("table", "string"), dg.TableColumn("rows", "int")]),
        )
        current = settings.publish_dir / publish.CURRENT
        spark = {}
        if settings.engine == "spark":
            with connect(settings, read_only=True) as con:
                written_back = write_back_python_marts(con, settings)
            context.log.info(f"Spark tables registered for the Python-written marts: {len(written_back)}")
            spark = {
                "spark_tables_written_back": dg.MetadataValue.md(
                    ", ".join(f"`marts.{t}`" for t in written_back) or "none"
                ),
                "spark_marts_dir": dg.MetadataValue.path(str(settings.spark_marts_dir)),
            }
        return dg.MaterializeResult(
            metadata={
                **spark,
                "version": manifest["version"],
                "published_at": manifest["published_at"],
                "tables": len(rows),
                "dagster/row_count": sum(rows.values()),
                "row_counts": listing,
                "dagster/uri": (current / publish.DUCKDB_FILE).absolute().as_uri(),
                "duckdb_file": dg.MetadataValue.path(str(current / publish.DUCKDB_FILE)),
                "parquet_dir": dg.MetadataValue.path(str(current / publish.PARQUET_DIR)),
            }
        )

    return published_marts


def published_marts_definitions(loaded: dg.Definitions) -> dg.Definitions:
    """Definitions holding the publish asset, wired after every mart found in `loaded`."""
    return dg.Definitions(assets=dg.with_source_code_references([build_published_marts(mart_keys(loaded))]))
