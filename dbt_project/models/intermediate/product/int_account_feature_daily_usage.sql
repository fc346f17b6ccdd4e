-- One row per account, feature and day the feature was used, plus the next day it was used.
-- A feature is the event's `feature` column, or its event name when there is none, so
-- unmapped event names still count toward feature breadth.
with

events as (

    select
        account_id,
        coalesce(feature, event_name) as feature,
        occurred_at
    from {{ ref('stg_product__events') }}

),

feature_days as (

    select
        account_id,
        feature,
        {{ to_date('occurred_at') }} as usage_date,
        count(*) as events
    from events
    where feature is not null
    group by 1, 2, 3

)

select
    account_id,
    feature,
    usage_date,
    events,
    lead(usage_date) over (partition by account_id, feature order by usage_date) as next_usage_date

from feature_days
