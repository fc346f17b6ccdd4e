-- One row per user and day with at least one event. Incremental: a run rebuilds the days from
-- the refresh date on (macros/incremental.sql).
with

events as (

    select
        account_id,
        user_id,
        occurred_at
    from {{ ref('stg_product__events') }}
    where user_id is not null
    {% if is_incremental() -%}
        and occurred_at >= cast({{ refresh_from_date('activity_date') }} as {{ dbt.type_timestamp() }})
    {%- endif %}

)

select
    account_id,
    user_id,
    {{ to_date('occurred_at') }} as activity_date,
    count(*) as events

from events
group by 1, 2, 3
