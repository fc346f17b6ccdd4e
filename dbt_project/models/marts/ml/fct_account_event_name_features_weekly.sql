{#-
    The company's own vocabulary, point in time: for every account and as_of_date of the
    observation grid and every name of int_event_name_vocabulary (the top `event_name_top_k`
    names by volume in the warm-up period), the events of that name in the 30 days ending on
    as_of_date, in the 30 days before, and their ratio. Long (one row per name) because the
    names are the company's data: the ML code pivots it into one column per name and value,
    evt_<slug>_count_30d and evt_<slug>_trend_30d (meta.pivoted_features in the yml).

    Only rows with events in either window are kept; a missing row means 0 events (and no
    trend). Counts are differences of running totals of int_account_activity_rolling at
    as_of_date, 30 and 60 days before, so they only see events up to the end of as_of_date.
-#}
{%- set top_k = event_name_top_k() -%}
{%- set int_type = dbt.type_int() -%}
{%- set dbl_type = type_double() -%}
{%- set str_type = dbt.type_string() -%}

with

grid as (

    select
        account_id,
        as_of_date
    from {{ ref('int_account_weeks') }}

),

vocabulary as (

    select
        vocabulary_rank,
        event_name,
        event_name_slug
    from {{ ref('int_event_name_vocabulary') }}

),

rolling as (

    select * from {{ ref('int_account_activity_rolling') }}

),

{% if top_k == 0 -%}
windows as (

    -- event_name_top_k = 0: no per-name features
    select
        grid.account_id,
        grid.as_of_date,
        vocabulary.event_name,
        vocabulary.event_name_slug,
        0 as count_30d,
        0 as count_prior_30d,
        false as has_prior_30d
    from grid
    inner join vocabulary on false

),
{%- else -%}
totals as (

    -- running totals per vocabulary rank at as_of_date, 30 and 60 days before (0 before the account's start)
    select
        grid.account_id,
        grid.as_of_date,
        vocabulary.event_name,
        vocabulary.event_name_slug,
        now_totals.account_start_date <= {{ add_days(-59, 'grid.as_of_date') }} as has_prior_30d,
        case vocabulary.vocabulary_rank
            {%- for rank, column in vocabulary_columns() %}
            when {{ rank }} then coalesce(now_totals.{{ column }}_total, 0)
            {%- endfor %}
        end as now_totals_events,
        case vocabulary.vocabulary_rank
            {%- for rank, column in vocabulary_columns() %}
            when {{ rank }} then coalesce(days_30_before.{{ column }}_total, 0)
            {%- endfor %}
        end as days_30_before_events,
        case vocabulary.vocabulary_rank
            {%- for rank, column in vocabulary_columns() %}
            when {{ rank }} then coalesce(days_60_before.{{ column }}_total, 0)
            {%- endfor %}
        end as days_60_before_events
    from grid
    cross join vocabulary
    inner join rolling as now_totals
        on grid.account_id = now_totals.account_id
        and grid.as_of_date = now_totals.activity_date
    left join rolling as days_30_before
        on grid.account_id = days_30_before.account_id
        and days_30_before.activity_date = {{ add_days(-30, 'grid.as_of_date') }}
    left join rolling as days_60_before
        on grid.account_id = days_60_before.account_id
        and days_60_before.activity_date = {{ add_days(-60, 'grid.as_of_date') }}

),

windows as (

    select
        account_id,
        as_of_date,
        event_name,
        event_name_slug,
        now_totals_events - days_30_before_events as count_30d,
        days_30_before_events - days_60_before_events as count_prior_30d,
        has_prior_30d
    from totals

),
{%- endif %}

kept as (

    select * from windows
    where count_30d > 0 or count_prior_30d > 0

)

select
    cast(account_id as {{ str_type }}) as account_id,
    cast(as_of_date as date) as as_of_date,
    cast(event_name as {{ str_type }}) as event_name,
    cast(event_name_slug as {{ str_type }}) as event_name_slug,
    cast(count_30d as {{ int_type }}) as count_30d,
    cast(count_prior_30d as {{ int_type }}) as count_prior_30d,
    cast(
        case when has_prior_30d then {{ safe_divide('count_30d', 'count_prior_30d') }} end
        as {{ dbl_type }}
    ) as trend_30d

from kept
