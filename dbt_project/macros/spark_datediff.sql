{#
    spark__datediff: dbt's datediff on Spark, counting hour, minute and second boundaries crossed,
    as DuckDB (and dbt's datediff on most warehouses) does: 12:10:59 to 12:11:01 is one minute.
    dbt-spark rounds the elapsed seconds up instead (zero minutes there, one for 12:10:00 to
    12:10:01), which made every response time in hours differ from DuckDB's by up to a minute.
    Days, weeks, months, quarters and years are dbt-spark's own.
#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- set seconds = {'hour': 3600, 'minute': 60, 'second': 1} -%}
    {%- if datepart in seconds -%}
        cast((
            unix_seconds(date_trunc('{{ datepart }}', cast({{ second_date }} as timestamp)))
            - unix_seconds(date_trunc('{{ datepart }}', cast({{ first_date }} as timestamp)))
        ) / {{ seconds[datepart] }} as bigint)
    {%- else -%}
        {{ dbt.spark__datediff(first_date, second_date, datepart) }}
    {%- endif -%}
{%- endmacro %}
