{# numerator / denominator, NULL when the denominator is 0 or NULL (never a division error). #}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / nullif(cast({{ denominator }} as {{ type_double() }}), 0))
{%- endmacro %}

{# Median of an expression within a group. #}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'account_health')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    median({{ expression }})
{%- endmacro %}

{# Spark's exact percentile, interpolated like DuckDB's median (percentile_approx is not exact). #}
{% macro spark__median(expression) -%}
    percentile({{ expression }}, 0.5)
{%- endmacro %}

{% macro bigquery__median(expression) -%}
    approx_quantiles({{ expression }}, 2)[offset(1)]
{%- endmacro %}

{# An 8-byte floating point type (dbt.type_float() renders a 4-byte REAL on DuckDB). #}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'account_health')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double{%- endmacro %}
{% macro bigquery__type_double() -%}float64{%- endmacro %}
{% macro postgres__type_double() -%}double precision{%- endmacro %}
{% macro redshift__type_double() -%}double precision{%- endmacro %}

{# The larger of two expressions, ignoring a NULL one (NULL only when both are). #}
{% macro greatest_ignoring_nulls(a, b) -%}
    case when {{ a }} is null or {{ b }} > {{ a }} then {{ b }} else {{ a }} end
{%- endmacro %}

{# The smaller of two expressions, ignoring a NULL one (NULL only when both are). #}
{% macro least_ignoring_nulls(a, b) -%}
    case when {{ a }} is null or {{ b }} < {{ a }} then {{ b }} else {{ a }} end
{%- endmacro %}
