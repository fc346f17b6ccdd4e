{#
    register_raw_tables(): on Spark, make every raw source a table over its Parquet folder
    (<AHW_SPARK_RAW_DIR>/<table>, written by dagster_project/ingest/spark_raw.py after the
    contract checks and the quarantine). Runs when a dbt invocation starts (on-run-start in
    dbt_project.yml). The tables are external: re-creating one only re-reads its folder's
    schema and files, never copies data. Other engines read `raw` where ingestion loaded it.
#}
{% macro register_raw_tables() -%}
    {{ return(adapter.dispatch('register_raw_tables', 'account_health')()) }}
{%- endmacro %}

{% macro default__register_raw_tables() -%}
    select 1
{%- endmacro %}

{% macro spark__register_raw_tables() -%}
    {%- if execute -%}
        {%- set raw_dir = env_var('AHW_SPARK_RAW_DIR', '') -%}
        {%- if not raw_dir -%}
            {{ exceptions.raise_compiler_error(
                "AHW_SPARK_RAW_DIR is not set: on Spark, dbt reads the raw tables from the Parquet folders "
                ~ "ingestion writes there. Run dbt through Dagster or `ahw`, or export AHW_SPARK_RAW_DIR "
                ~ "(see .env.example).") }}
        {%- endif -%}
        {%- set schemas = [] -%}
        {%- for source in graph.sources.values() -%}
            {%- if source.schema not in schemas -%}
                {%- do schemas.append(source.schema) -%}
                {%- do run_query('create database if not exists ' ~ source.schema) -%}
            {%- endif -%}
            {%- set name = source.schema ~ '.' ~ source.identifier -%}
            {%- do run_query('drop table if exists ' ~ name) -%}
            {%- do run_query("create table " ~ name ~ " using parquet location '"
                ~ raw_dir ~ '/' ~ source.identifier ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
