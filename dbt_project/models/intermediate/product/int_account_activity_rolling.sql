{#-
    One row per account and day (dense, like int_account_daily_activity): activity summed
    over the trailing 7/30/60/90 days ending on that day (inclusive), the running peak of
    weekly activity, the last login date, and the rhythm of qualifying activity (active days,
    the last active day, the gap in days since the previous active day, and running totals of
    active days and gaps, whose differences between two days give any longer window exactly).
    Only rows on or before a day feed that day. ROWS frames over the dense daily series are
    exact day windows on every engine.

    Incremental (macros/incremental.sql): a run rebuilds the days from the refresh date R on,
    reading the 90 days before R for the windows; the running values (account start, peaks,
    last login, last active day, running totals) continue from the row of R - 1 already built,
    and the gaps of the days read before R start from the last active day already built for
    the day before them. Windows of days before R that the 90 days cut short only ever
    underestimate, so they never raise a running peak.
-#}
{%- set longest_window_days = 90 -%}
{%- set window_columns = [
    'events_30d', 'active_days_30d',
    'logins_7d', 'logins_30d', 'logins_60d', 'logins_90d',
    'core_actions_7d', 'core_actions_30d', 'core_actions_60d', 'core_actions_90d',
    'errors_30d', 'integrations_connected_90d', 'integrations_removed_90d',
    'users_invited_30d', 'exports_30d', 'api_calls_30d',
    'active_users_7d', 'active_users_30d', 'active_users_prior_30d', 'feature_breadth_30d',
    'logins_prior_30d', 'core_actions_prior_30d',
    'active_days_90d', 'active_gap_days', 'max_active_gap_days_90d',
] -%}
{#- running totals: continued from the row already built for the day before the refresh date -#}
{#- (total, daily value): active days, gap days and gaps, and the events of each vocabulary name -#}
{%- set running_totals = [
    ('active_days_total', 'is_active'),
    ('active_gap_days_total', 'coalesce(active_gap_days, 0)'),
    ('active_gaps_total', 'case when active_gap_days is null then 0 else 1 end'),
] + vocabulary_running_totals() -%}
{%- if is_incremental() -%}
    {%- set rebuild_from = refresh_from_date('activity_date') -%}
    {%- set input_from = refresh_input_from_date('activity_date', longest_window_days) -%}
{%- endif %}

with

daily as (

    select * from {{ ref('int_account_daily_activity') }}
    {% if is_incremental() -%}
        where activity_date >= {{ input_from }}
    {%- endif %}

),

{% if is_incremental() -%}
built as (

    -- running values up to the day before the refresh date, from the rows already built
    select
        account_id, account_start_date, last_login_date, peak_logins_7d, peak_core_actions_7d,
        {%- for total, _ in running_totals %}
        {{ total }},
        {%- endfor %}
        last_active_date
    from {{ this }}
    where activity_date = {{ add_days(-1, rebuild_from) }}

),

built_before_input as (

    -- the last active day before the first day read, for the gaps of the days read
    select
        account_id,
        last_active_date
    from {{ this }}
    where activity_date = {{ add_days(-1, input_from) }}

),
{%- endif %}

active_days as (

    select
        daily.*,
        case when daily.qualifying_events > 0 then 1 else 0 end as is_active,
        max(case when daily.qualifying_events > 0 then daily.activity_date end) over (
            partition by daily.account_id order by daily.activity_date rows between unbounded preceding and 1 preceding
        ) as previous_active_date_read,
        {{ 'built_before_input.last_active_date' if is_incremental() else 'cast(null as date)' }}
            as previous_active_date_built
    from daily
    {%- if is_incremental() %}
    left join built_before_input on daily.account_id = built_before_input.account_id
    {%- endif %}

),

gaps as (

    select
        *,
        -- days since the previous active day, on active days that have one
        case
            when is_active = 1 then {{ dbt.datediff(
                greatest_ignoring_nulls('previous_active_date_built', 'previous_active_date_read'),
                'activity_date',
                'day'
            ) }}
        end as active_gap_days
    from active_days

),

windows as (

    select
        account_id,
        activity_date,
        min(activity_date) over (partition by account_id) as account_start_date,

        {{ trailing_sum('events', 30) }} as events_30d,
        {{ trailing_sum('is_active', 30) }} as active_days_30d,
        {{ trailing_sum('is_active', 90) }} as active_days_90d,
        active_gap_days,
        max(active_gap_days) over (
            partition by account_id order by activity_date rows between 89 preceding and current row
        ) as max_active_gap_days_90d,
        case when is_active = 1 then activity_date end as active_date,
        {#- in an incremental run, the days before the refresh date are already in the totals #}
        {%- for total, value in running_totals %}
        sum(
            {%- if is_incremental() %}
            case when activity_date >= {{ rebuild_from }} then {{ value }} else 0 end
            {%- else %}
            {{ value }}
            {%- endif %}
        ) over (
            partition by account_id order by activity_date rows between unbounded preceding and current row
        ) as {{ total }},
        {%- endfor %}

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

    from gaps

),

with_peaks as (

    select
        *,
        logins_60d - logins_30d as logins_prior_30d,
        core_actions_60d - core_actions_30d as core_actions_prior_30d,
        max(logins_7d) over (
            partition by account_id order by activity_date rows between unbounded preceding and current row
        ) as peak_logins_7d,
        max(core_actions_7d) over (
            partition by account_id order by activity_date rows between unbounded preceding and current row
        ) as peak_core_actions_7d,
        max(active_date) over (
            partition by account_id order by activity_date rows between unbounded preceding and current row
        ) as last_active_date

    from windows

)

select
    with_peaks.account_id,
    with_peaks.activity_date,
    {%- for column in window_columns %}
    with_peaks.{{ column }},
    {%- endfor %}
    {% if is_incremental() -%}
    {{ least_ignoring_nulls('built.account_start_date', 'with_peaks.account_start_date') }} as account_start_date,
    {{ greatest_ignoring_nulls('built.last_login_date', 'with_peaks.last_login_date') }} as last_login_date,
    {{ greatest_ignoring_nulls('built.peak_logins_7d', 'with_peaks.peak_logins_7d') }} as peak_logins_7d,
    {{ greatest_ignoring_nulls('built.peak_core_actions_7d', 'with_peaks.peak_core_actions_7d') }}
        as peak_core_actions_7d,
    {%- for total, _ in running_totals %}
    coalesce(built.{{ total }}, 0) + with_peaks.{{ total }} as {{ total }},
    {%- endfor %}
    {{ greatest_ignoring_nulls('built.last_active_date', 'with_peaks.last_active_date') }} as last_active_date
    {%- else -%}
    with_peaks.account_start_date,
    with_peaks.last_login_date,
    with_peaks.peak_logins_7d,
    with_peaks.peak_core_actions_7d,
    {%- for total, _ in running_totals %}
    with_peaks.{{ total }},
    {%- endfor %}
    with_peaks.last_active_date
    {%- endif %}

from with_peaks
{% if is_incremental() -%}
left join built on with_peaks.account_id = built.account_id
-- the days before the refresh date only fed the windows
where with_peaks.activity_date >= {{ rebuild_from }}
{%- endif %}
