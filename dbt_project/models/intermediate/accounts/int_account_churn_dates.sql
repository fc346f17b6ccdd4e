{#-
    One row per churn event of an account (an account that comes back and leaves again
    churns again), under the definition chosen by the `churn_definition` var:

    contractual: the account's subscription turns canceled (or its latest state ends at its
        valid_to), coming from an active state (trialing, active, past_due), and no active
        state starts within `churn_grace_days` after it. churn_date = the day it turned
        canceled (the canceled row's valid_from). A company that provides no subscriptions
        at all falls back to the activity definition.
    activity: no qualifying activity (int_account_daily_activity.qualifying_events, the
        `qualifying_event_names` var) for `activity_churn_days` days. churn_date = the last
        active day + activity_churn_days (the day the silence makes it a churn, so the grid
        keeps the account, and its silence, until then).
    dormancy: the same silence rule with the label horizon (`churn_horizon_days`) as the
        silence: the account lapses once it has gone a whole horizon without qualifying
        activity, and leaves the grid until it is active again. The dormancy label itself
        (no qualifying activity in (as_of, as_of + horizon]) is built from these lapses in
        fct_account_labels_weekly.

    reactivated_date is the day the account came back (next active state / next qualifying
    activity), or NULL while it stays churned.
-#}
{%- set definition = var('churn_definition') -%}
{%- if definition not in ['contractual', 'activity', 'dormancy'] -%}
    {{ exceptions.raise_compiler_error(
        "var churn_definition must be 'contractual', 'activity' or 'dormancy', got '" ~ definition ~ "'. "
        ~ "Set AHW_CHURN_DEFINITION (the pipeline passes it as this var), or --vars '{churn_definition: activity}'.") }}
{%- endif -%}
{%- set grace_days = var('churn_grace_days') | int -%}
{#- dormancy: a whole label horizon of silence -#}
{%- set silence_var = 'churn_horizon_days' if definition == 'dormancy' else 'activity_churn_days' -%}
{%- set silence_days = var(silence_var) | int -%}
{#- the name recorded on silence-based churns (also the contractual fallback's) -#}
{%- set silence_definition = 'dormancy' if definition == 'dormancy' else 'activity' -%}

with

periods as (

    select * from {{ ref('int_subscription_periods') }}

),

observation_period as (

    select * from {{ ref('int_observation_period') }}

),

{% if definition == 'dormancy' -%}
accounts as (

    select
        account_id,
        created_date
    from {{ ref('int_account_profiles') }}

),
{%- else -%}
-- depends_on: {{ ref('int_account_profiles') }} (read under the dormancy definition only)
{%- endif %}

daily_activity as (

    select
        account_id,
        activity_date
    from {{ ref('int_account_daily_activity') }}
    where qualifying_events > 0
    {%- if definition == 'dormancy' %}

    union

    select
        accounts.account_id,
        case
            when accounts.created_date > observation_period.observation_start_date then accounts.created_date
            else observation_period.observation_start_date
        end as activity_date
    from accounts
    cross join observation_period
    {%- endif %}

),

use_contractual as (

    select
        {{ 'true' if definition == 'contractual' else 'false' }} and count(*) > 0 as use_contractual
    from periods

),

-- contractual ------------------------------------------------------------------------------

transitions as (

    select
        account_id,
        period_start_date,
        period_end_date,
        is_latest_period,
        is_active,
        lag(is_active) over (partition by account_id order by period_start_date) as previous_is_active
    from periods

),

cancellations as (

    -- an active state followed by a canceled one
    select
        account_id,
        period_start_date as churn_date
    from transitions
    where not is_active and previous_is_active

    union all

    -- the latest state is active but ended (valid_to) by the observation end
    select
        transitions.account_id,
        transitions.period_end_date as churn_date
    from transitions
    cross join observation_period
    where transitions.is_latest_period
        and transitions.is_active
        and transitions.period_end_date <= observation_period.observation_end_date

),

cancellation_reactivations as (

    select
        cancellations.account_id,
        cancellations.churn_date,
        min(periods.period_start_date) as reactivated_date
    from cancellations
    left join periods
        on cancellations.account_id = periods.account_id
        and periods.is_active
        and cancellations.churn_date < periods.period_start_date
    group by 1, 2

),

contractual_churns as (

    select
        account_id,
        churn_date,
        reactivated_date,
        'contractual' as churn_definition
    from cancellation_reactivations
    where reactivated_date is null
        or reactivated_date > {{ add_days(grace_days, 'churn_date') }}

),

-- activity and dormancy: a silence of silence_days -----------------------------------------

active_days as (

    select
        account_id,
        activity_date,
        lead(activity_date) over (partition by account_id order by activity_date) as next_activity_date
    from daily_activity

),

activity_churns as (

    select
        active_days.account_id,
        {{ add_days(silence_days, 'active_days.activity_date') }} as churn_date,
        active_days.next_activity_date as reactivated_date,
        '{{ silence_definition }}' as churn_definition
    from active_days
    cross join observation_period
    where
        (
            active_days.next_activity_date is null
            and {{ add_days(silence_days, 'active_days.activity_date') }} <= observation_period.observation_end_date
        )
        or active_days.next_activity_date > {{ add_days(silence_days, 'active_days.activity_date') }}

),

churns as (

    select contractual_churns.*
    from contractual_churns
    cross join use_contractual
    where use_contractual.use_contractual

    union all

    select activity_churns.*
    from activity_churns
    cross join use_contractual
    where not use_contractual.use_contractual

)

select
    account_id,
    churn_date,
    reactivated_date,
    churn_definition,
    row_number() over (partition by account_id order by churn_date) as churn_number

from churns
