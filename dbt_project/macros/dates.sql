{#
    Small portable date helpers (no dbt packages are used in this project).
#}

{# Rows (date_day) for every day from start_date to end_date inclusive; both are SQL date
   expressions that may reference columns of a one-row relation `bounds_relation`.
   Supports spans up to 100,000 days. #}
{% macro day_spine(start_date, end_date, bounds_relation) -%}
    with digits as (
        select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
        union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
    ),

    day_numbers as (
        select d1.d + 10 * d2.d + 100 * d3.d + 1000 * d4.d + 10000 * d5.d as day_number
        from digits as d1
        cross join digits as d2
        cross join digits as d3
        cross join digits as d4
        cross join digits as d5
    ),

    bounds as (
        select
            {{ start_date }} as start_date,
            {{ end_date }} as end_date
        from {{ bounds_relation }}
    )

    select cast({{ dbt.dateadd('day', 'day_numbers.day_number', 'bounds.start_date') }} as date) as date_day
    from bounds
    cross join day_numbers
    where day_numbers.day_number <= {{ dbt.datediff('bounds.start_date', 'bounds.end_date', 'day') }}
{%- endmacro %}

{# True when the date expression is a Sunday (the weekly observation day).
   1900-01-07 was a Sunday; counting days from it avoids engine-specific day-of-week numbering. #}
{% macro is_sunday(date_expression) -%}
    mod({{ dbt.datediff("cast('1900-01-07' as date)", date_expression, 'day') }}, 7) = 0
{%- endmacro %}

{# Date of a timestamp, as a date. #}
{% macro to_date(timestamp_expression) -%}
    cast({{ timestamp_expression }} as date)
{%- endmacro %}

{# date_expression + n days, as a date (DuckDB's date + interval would be a timestamp). #}
{% macro add_days(n, date_expression) -%}
    cast({{ dbt.dateadd('day', n, date_expression) }} as date)
{%- endmacro %}

{# Exclusive upper bound of "data known at the end of as_of_date": timestamps strictly before
   the next midnight belong to the snapshot (point in time: no leakage). #}
{% macro end_of_day_bound(date_expression) -%}
    cast({{ dbt.dateadd('day', 1, date_expression) }} as {{ dbt.type_timestamp() }})
{%- endmacro %}
