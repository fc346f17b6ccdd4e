-- One row per user and day with at least one event, plus the user's next active day.
-- The next active day lets int_account_daily_activity count distinct active users over
-- rolling windows without joining user-days to every window (see that model).
with

events as (

    select account_id, user_id, occurred_at
    from {{ ref('stg_product__events') }}
    where user_id is not null

),

user_days as (

    select
        account_id,
        user_id,
        {{ to_date('occurred_at') }} as activity_date,
        count(*) as events
    from events
    group by 1, 2, 3

)

select
    account_id,
    user_id,
    activity_date,
    events,
    lead(activity_date) over (partition by account_id, user_id order by activity_date) as next_activity_date

from user_days
