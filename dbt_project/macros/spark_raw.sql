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
            {%- do create_parquet_table(source.schema ~ '.' ~ source.identifier, raw_dir ~ '/' ~ source.identifier) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#
    create_parquet_table(name, location): (re)create the Spark table `name` over the Parquet
    folder `location`. External: dropping it never deletes the files.
#}
{% macro create_parquet_table(name, location) -%}
    {%- do run_query('drop table if exists ' ~ name) -%}
    {%- do run_query("create table " ~ name ~ " using parquet location '" ~ location ~ "'") -%}
{%- endmacro %}

{#
    register_parquet_tables(schema, root, tables): on Spark, make each of `tables` the table
    `<schema>.<table>` over the folder `<root>/<table>`. The marts written by the Python steps are
    registered this way after every refresh (`dbt run-operation`, from
    dagster_project/serve/spark_marts.py), so Spark reads every mart, not only dbt's.
#}
{% macro register_parquet_tables(schema, root, tables) -%}
    {%- if target.type != 'spark' -%}
        {{ exceptions.raise_compiler_error("register_parquet_tables runs on Spark targets only, not " ~ target.type) }}
    {%- endif -%}
    {%- do run_query('create database if not exists ' ~ schema) -%}
    {%- for table in tables -%}
        {%- do create_parquet_table(schema ~ '.' ~ table, root ~ '/' ~ table) -%}
    {%- endfor -%}
    {{ log('registered ' ~ (tables | length) ~ ' Parquet tables in ' ~ schema, info=true) }}
{%- endmacro %}
