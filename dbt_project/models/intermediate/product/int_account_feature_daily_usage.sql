-- One row per account, feature and day the feature was used. A feature is the event's `feature`
-- column, or its event name when there is none, so unmapped event names still count toward
-- feature breadth. Incremental: a run rebuilds the days from the refresh date on.
with

events as (

    select
        account_id,
        coalesce(feature, event_name) as feature,
        occurred_at
    from {{ ref('stg_product__events') }}
    {% if is_incremental() -%}
        where occurred_at >= cast({{ refresh_from_date('usage_date') }} as {{ dbt.type_timestamp() }})
    {%- endif %}

)

select
    account_id,
    feature,
    {{ to_date('occurred_at') }} as usage_date,
    count(*) as events

from events
where feature is not null
group by 1, 2, 3
