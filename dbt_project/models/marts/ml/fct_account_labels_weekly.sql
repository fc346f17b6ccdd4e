{#-
    One row per account and as_of_date of the observation grid: what happened in the label
    window (as_of_date, as_of_date + churn_horizon_days]. Labels are NULL when that window
    reaches past the observation end date (censored: not yet fully observed, never trained
    on). Column names follow the default 90-day horizon.

    churned_within_90d: the account churns (int_account_churn_dates) inside the window.
        Under the dormancy definition: no qualifying activity at all inside the window, i.e.
        the account lapses inside it (a whole horizon without qualifying activity) and is
        not active again before the window ends.
    expanded_within_90d: not churned, and at the window end the recognized MRR is at least
        (1 + expansion_min_mrr_growth) x the MRR at as_of_date (which must be > 0), or the
        seats grew. NULL as well when the account has no subscription state at either end.
-#}
{%- set horizon = var('churn_horizon_days') | int -%}
{%- set min_growth = var('expansion_min_mrr_growth') | float -%}
{%- set is_dormancy = var('churn_definition') == 'dormancy' -%}

with

grid as (

    select
        account_id,
        as_of_date
    from {{ ref('int_account_weeks') }}

),

observation_period as (

    select observation_end_date from {{ ref('int_observation_period') }}

),

churns as (

    select
        account_id,
        churn_date,
        reactivated_date
    from {{ ref('int_account_churn_dates') }}

),

mrr_daily as (

    select
        account_id,
        date_day,
        mrr_usd,
        seats,
        subscription_status
    from {{ ref('int_account_mrr_daily') }}

),

next_churns as (

    select
        grid.account_id,
        grid.as_of_date,
        min(churns.churn_date) as churn_date
    from grid
    inner join churns
        on grid.account_id = churns.account_id
        and grid.as_of_date < churns.churn_date
    group by 1, 2

),

windows as (

    select
        grid.account_id,
        grid.as_of_date,
        {{ add_days(horizon, 'grid.as_of_date') }} as label_window_end_date,
        {{ add_days(horizon, 'grid.as_of_date') }} > observation_period.observation_end_date as is_censored,
        next_churns.churn_date,
        coalesce(next_churns.churn_date <= {{ add_days(horizon, 'grid.as_of_date') }}, false)
        {%- if is_dormancy %}
            -- dormant for the whole window: lapsed inside it and not back before it ends
            and coalesce(churns.reactivated_date > {{ add_days(horizon, 'grid.as_of_date') }}, true)
        {%- endif %} as churns_in_window,
        start_state.mrr_usd as start_mrr_usd,
        start_state.seats as start_seats,
        end_state.mrr_usd as end_mrr_usd,
        end_state.seats as end_seats
    from grid
    cross join observation_period
    left join next_churns
        on grid.account_id = next_churns.account_id
        and grid.as_of_date = next_churns.as_of_date
    {%- if is_dormancy %}
    left join churns
        on next_churns.account_id = churns.account_id
        and next_churns.churn_date = churns.churn_date
    {%- endif %}
    left join mrr_daily as start_state
        on grid.account_id = start_state.account_id
        and grid.as_of_date = start_state.date_day
    left join mrr_daily as end_state
        on grid.account_id = end_state.account_id
        and end_state.date_day = {{ add_days(horizon, 'grid.as_of_date') }}

)

select
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(as_of_date as date) as as_of_date,
    cast(label_window_end_date as date) as label_window_end_date,
    cast(is_censored as boolean) as is_censored,
    cast(case when not is_censored then churns_in_window end as boolean) as churned_within_90d,
    cast(case
        when is_censored then null
        when churns_in_window then false
        when start_mrr_usd is null and end_mrr_usd is null then null
        when start_mrr_usd > 0 and end_mrr_usd >= {{ 1 + min_growth }} * start_mrr_usd then true
        when end_seats > start_seats then true
        else false
    end as boolean) as expanded_within_90d,
    cast(churn_date as date) as churn_date,
    cast(
        {{ dbt.datediff('as_of_date', 'churn_date', 'day') }}
        as {{ dbt.type_int() }}
    ) as days_until_churn,
    cast(start_mrr_usd as {{ type_double() }}) as mrr_usd,
    cast(case when not is_censored then end_mrr_usd end as {{ type_double() }}) as label_window_end_mrr_usd

from windows
