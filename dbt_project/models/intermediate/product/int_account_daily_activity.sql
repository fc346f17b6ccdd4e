{#-
    One row per account and calendar day (dense: days without events are zeros), from the
    account's start (creation, or its first event if earlier, never before the observation
    start) to the observation end date.

    Distinct counts over rolling windows (active users, feature breadth) are exact without
    joining user-days to every window: a user active on day x whose next active day is y
    counts in the L-day window ending on every day of [x, min(y, x + L)). Those intervals do
    not overlap for one user, so the running sum of +1 at x and -1 at min(y, x + L) is the
    number of distinct users active in the window.

    Incremental (macros/incremental.sql): a run rebuilds the days from the refresh date R on.
    Their 30-day windows only involve user- and feature-days from R - 30 on: an interval that
    starts earlier ends before R, so the running sums started at R - 30 are already exact at R.
-#}
{#- One event count per role of the `event_roles` var: (role, column) pairs, in the var's order. -#}
{%- set roles = event_role_columns() -%}
{#- One event count per name of the event-name vocabulary (int_event_name_vocabulary), by rank. -#}
{%- set vocabulary_columns = vocabulary_columns() -%}

{%- set longest_window_days = 30 -%}
{%- if is_incremental() -%}
    {%- set rebuild_from = refresh_from_date('activity_date') -%}
    {%- set input_from = refresh_input_from_date('activity_date', longest_window_days) -%}
{%- endif %}

with

accounts as (

    select
        account_id,
        created_date
    from {{ ref('int_account_profiles') }}

),

events as (

    select
        events.*,
        vocabulary.vocabulary_rank
    from {{ ref('stg_product__events') }} as events
    left join {{ ref('int_event_name_vocabulary') }} as vocabulary
        on events.event_name = vocabulary.event_name
    {% if is_incremental() -%}
        where events.occurred_at >= cast({{ rebuild_from }} as {{ dbt.type_timestamp() }})
    {%- endif %}

),

user_days as (

    select
        account_id,
        activity_date,
        lead(activity_date) over (partition by account_id, user_id order by activity_date) as next_activity_date
    from {{ ref('int_user_daily_activity') }}
    {% if is_incremental() -%}
        where activity_date >= {{ input_from }}
    {%- endif %}

),

feature_days as (

    select
        account_id,
        usage_date,
        lead(usage_date) over (partition by account_id, feature order by usage_date) as next_usage_date
    from {{ ref('int_account_feature_daily_usage') }}
    {% if is_incremental() -%}
        where usage_date >= {{ input_from }}
    {%- endif %}

),

event_days as (

    select
        account_id,
        {{ to_date('occurred_at') }} as activity_date,
        {%- for role, column in roles %}
        cast(sum({{ is_event_role(role) }}) as {{ dbt.type_bigint() }}) as {{ column }},
        {%- endfor %}
        {%- for rank, column in vocabulary_columns %}
        cast(sum(case when vocabulary_rank = {{ rank }} then 1 else 0 end) as {{ dbt.type_bigint() }}) as {{ column }},
        {%- endfor %}
        cast(sum({{ is_qualifying_event() }}) as {{ dbt.type_bigint() }}) as qualifying_events,
        count(*) as events
    from events
    group by account_id, {{ to_date('occurred_at') }}

),

daily_users as (

    -- distinct counts from the user-day and feature-day models: cheaper than count(distinct)
    select
        account_id,
        activity_date,
        count(*) as active_users
    from user_days
    group by account_id, activity_date

),

daily_features as (

    select
        account_id,
        usage_date as activity_date,
        count(*) as features_used
    from feature_days
    group by account_id, usage_date

),

first_event_dates as (

    select
        account_id,
        min(activity_date) as first_event_date
    from event_days
    group by account_id
    {% if is_incremental() -%}
    -- an account's series already built starts on its start date (or the observation start)
    union all
    select
        account_id,
        min(activity_date) as first_event_date
    from {{ this }}
    group by account_id
    {%- endif %}

),

account_bounds as (

    select
        accounts.account_id,
        case
            when min(first_event_dates.first_event_date) < accounts.created_date
                then min(first_event_dates.first_event_date)
            else accounts.created_date
        end as start_date
    from accounts
    left join first_event_dates on accounts.account_id = first_event_dates.account_id
    group by accounts.account_id, accounts.created_date

),

calendar as (

    {{ day_spine('observation_start_date', 'observation_end_date', ref('int_observation_period')) }}

),

account_days as (

    select
        account_bounds.account_id,
        calendar.date_day as activity_date
    from account_bounds
    inner join calendar on account_bounds.start_date <= calendar.date_day
    {% if is_incremental() -%}
        and calendar.date_day >= {{ input_from }}
    {%- endif %}

),

window_deltas as (

    -- +1 when a user (feature) enters a rolling window, -1 when it leaves it
    select
        account_id,
        activity_date as delta_date,
        1 as active_users_7d_delta,
        1 as active_users_30d_delta,
        0 as feature_breadth_30d_delta
    from user_days

    union all

    select
        account_id,
        case
            when next_activity_date < {{ add_days(7, 'activity_date') }} then next_activity_date
            else {{ add_days(7, 'activity_date') }}
        end as delta_date,
        -1 as active_users_7d_delta,
        0 as active_users_30d_delta,
        0 as feature_breadth_30d_delta
    from user_days

    union all

    select
        account_id,
        case
            when next_activity_date < {{ add_days(30, 'activity_date') }} then next_activity_date
            else {{ add_days(30, 'activity_date') }}
        end as delta_date,
        0 as active_users_7d_delta,
        -1 as active_users_30d_delta,
        0 as feature_breadth_30d_delta
    from user_days

    union all

    select
        account_id,
        usage_date as delta_date,
        0 as active_users_7d_delta,
        0 as active_users_30d_delta,
        1 as feature_breadth_30d_delta
    from feature_days

    union all

    select
        account_id,
        case
            when next_usage_date < {{ add_days(30, 'usage_date') }} then next_usage_date
            else {{ add_days(30, 'usage_date') }}
        end as delta_date,
        0 as active_users_7d_delta,
        0 as active_users_30d_delta,
        -1 as feature_breadth_30d_delta
    from feature_days

),

daily_deltas as (

    select
        account_id,
        delta_date,
        sum(active_users_7d_delta) as active_users_7d_delta,
        sum(active_users_30d_delta) as active_users_30d_delta,
        sum(feature_breadth_30d_delta) as feature_breadth_30d_delta
    from window_deltas
    group by account_id, delta_date

),

joined as (

    select
        account_days.account_id,
        account_days.activity_date,
        coalesce(event_days.events, 0) as events,
        coalesce(event_days.qualifying_events, 0) as qualifying_events,
        {%- for rank, column in vocabulary_columns %}
        coalesce(event_days.{{ column }}, 0) as {{ column }},
        {%- endfor %}
        {%- for role, column in roles %}
        coalesce(event_days.{{ column }}, 0) as {{ column }},
        {%- endfor %}
        coalesce(daily_users.active_users, 0) as active_users,
        coalesce(daily_features.features_used, 0) as features_used,
        coalesce(daily_deltas.active_users_7d_delta, 0) as active_users_7d_delta,
        coalesce(daily_deltas.active_users_30d_delta, 0) as active_users_30d_delta,
        coalesce(daily_deltas.feature_breadth_30d_delta, 0) as feature_breadth_30d_delta
    from account_days
    left join event_days
        on account_days.account_id = event_days.account_id
        and account_days.activity_date = event_days.activity_date
    left join daily_users
        on account_days.account_id = daily_users.account_id
        and account_days.activity_date = daily_users.activity_date
    left join daily_features
        on account_days.account_id = daily_features.account_id
        and account_days.activity_date = daily_features.activity_date
    left join daily_deltas
        on account_days.account_id = daily_deltas.account_id
        and account_days.activity_date = daily_deltas.delta_date

),

dense_days as (

    select
        account_id,
        activity_date,
        events,
        qualifying_events,
        {%- for rank, column in vocabulary_columns %}
        {{ column }},
        {%- endfor %}
        {%- for role, column in roles %}
        {{ column }},
        {%- endfor %}
        active_users,
        features_used,
        cast(sum(active_users_7d_delta) over (
            partition by account_id order by activity_date rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as active_users_7d,
        cast(sum(active_users_30d_delta) over (
            partition by account_id order by activity_date rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as active_users_30d,
        cast(sum(feature_breadth_30d_delta) over (
            partition by account_id order by activity_date rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as feature_breadth_30d

    from joined

)

select * from dense_days
{% if is_incremental() -%}
-- the days before the refresh date only started the running sums
where activity_date >= {{ rebuild_from }}
{%- endif %}
