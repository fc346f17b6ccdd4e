{#-
    One row per churn event of an account (an account that comes back and leaves again
    churns again), under the definition chosen by the `churn_definition` var:

    contractual: the account's subscription turns canceled (or its latest state ends at its
        valid_to), coming from an active state (trialing, active, past_due), and no active
        state starts within `churn_grace_days` after it. churn_date = the day it turned
        canceled (the canceled row's valid_from). A company that provides no subscriptions
        at all falls back to the activity definition.
    activity: no product event for `activity_churn_days` days. churn_date = the last event
        day + activity_churn_days (the day the silence makes it a churn, so the grid keeps
        the account, and its silence, until then).

    reactivated_date is the day the account came back (next active state / next event), or
    NULL while it stays churned.
-#}
{%- set definition = var('churn_definition') -%}
{%- if definition not in ['contractual', 'activity'] -%}
    {{ exceptions.raise_compiler_error(
        "var churn_definition must be 'contractual' or 'activity', got '" ~ definition ~ "'. "
        ~ "Set it in dbt_project.yml or with --vars '{churn_definition: activity}'.") }}
{%- endif -%}
{%- set grace_days = var('churn_grace_days') | int -%}
{%- set silence_days = var('activity_churn_days') | int -%}

with

periods as (

    select * from {{ ref('int_subscription_periods') }}

),

observation_period as (

    select * from {{ ref('int_observation_period') }}

),

daily_activity as (

    select
        account_id,
        activity_date
    from {{ ref('int_account_daily_activity') }}
    where events > 0

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

-- activity ---------------------------------------------------------------------------------

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
        'activity' as churn_definition
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
