{#-
    One row per account and day (dense, like int_account_daily_activity): activity summed
    over the trailing 7/30/60/90 days ending on that day (inclusive), the running peak of
    weekly activity and the last login date. Only rows on or before a day feed that day.
    ROWS frames over the dense daily series are exact day windows on every engine.
-#}

with

daily as (

    select * from {{ ref('int_account_daily_activity') }}

),

windows as (

    select
        account_id,
        activity_date,
        min(activity_date) over (partition by account_id) as account_start_date,

        {{ trailing_sum('events', 30) }} as events_30d,
        {{ trailing_sum('case when events > 0 then 1 else 0 end', 30) }} as active_days_30d,

        {{ trailing_sum('logins', 7) }} as logins_7d,
        {{ trailing_sum('logins', 30) }} as logins_30d,
        {{ trailing_sum('logins', 60) }} as logins_60d,
        {{ trailing_sum('logins', 90) }} as logins_90d,

        {{ trailing_sum('core_actions', 7) }} as core_actions_7d,
        {{ trailing_sum('core_actions', 30) }} as core_actions_30d,
        {{ trailing_sum('core_actions', 60) }} as core_actions_60d,
        {{ trailing_sum('core_actions', 90) }} as core_actions_90d,

        {{ trailing_sum('errors', 30) }} as errors_30d,
        {{ trailing_sum('integrations_connected', 90) }} as integrations_connected_90d,
        {{ trailing_sum('integrations_removed', 90) }} as integrations_removed_90d,
        {{ trailing_sum('users_invited', 30) }} as users_invited_30d,
        {{ trailing_sum('exports', 30) }} as exports_30d,
        {{ trailing_sum('api_calls', 30) }} as api_calls_30d,

        active_users_7d,
        active_users_30d,
        lag(active_users_30d, 30) over (partition by account_id order by activity_date) as active_users_prior_30d,
        feature_breadth_30d,

        max(case when logins > 0 then activity_date end) over (
            partition by account_id order by activity_date rows between unbounded preceding and current row
        ) as last_login_date

    from daily

)

select
    *,
    logins_60d - logins_30d as logins_prior_30d,
    core_actions_60d - core_actions_30d as core_actions_prior_30d,
    max(logins_7d) over (
        partition by account_id order by activity_date rows between unbounded preceding and current row
    ) as peak_logins_7d,
    max(core_actions_7d) over (
        partition by account_id order by activity_date rows between unbounded preceding and current row
    ) as peak_core_actions_7d

from windows
