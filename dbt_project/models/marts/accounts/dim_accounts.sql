{#-
    One row per account: firmographics, the subscription state at the observation end date
    (plan, seats, recognized MRR and ARR), tenure and lifecycle status. A churned account
    shows the churn date of its current churn (it has not come back since).
-#}
with

profiles as (

    select * from {{ ref('int_account_profiles') }}

),

observation_period as (

    select observation_end_date from {{ ref('int_observation_period') }}

),

current_states as (

    select mrr_daily.*
    from {{ ref('int_account_mrr_daily') }} as mrr_daily
    inner join observation_period on mrr_daily.date_day = observation_period.observation_end_date

),

churns as (

    select * from {{ ref('int_account_churn_dates') }}

),

churn_summary as (

    select
        churns.account_id,
        count(*) as churn_count,
        max(case
            when churns.churn_date <= observation_period.observation_end_date
                and (
                    churns.reactivated_date is null or churns.reactivated_date > observation_period.observation_end_date
                )
                then churns.churn_date
        end) as current_churn_date
    from churns
    cross join observation_period
    group by 1

),

activity as (

    select
        account_id,
        min(case when events > 0 then activity_date end) as first_event_date,
        max(case when events > 0 then activity_date end) as last_event_date
    from {{ ref('int_account_daily_activity') }}
    group by 1

),

joined as (

    select
        profiles.*,
        observation_period.observation_end_date,
        activity.first_event_date,
        activity.last_event_date,
        current_states.subscription_status,
        current_states.plan,
        current_states.billing_interval,
        current_states.seats,
        current_states.mrr_usd,
        coalesce(churn_summary.churn_count, 0) as churn_count,
        churn_summary.current_churn_date
    from profiles
    cross join observation_period
    left join activity on profiles.account_id = activity.account_id
    left join current_states on profiles.account_id = current_states.account_id
    left join churn_summary on profiles.account_id = churn_summary.account_id

)

select
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(account_name as {{ dbt.type_string() }}) as account_name,
    cast(industry as {{ dbt.type_string() }}) as industry,
    cast(employee_count as {{ dbt.type_int() }}) as employee_count,
    cast(size_band as {{ dbt.type_string() }}) as size_band,
    cast(region as {{ dbt.type_string() }}) as region,
    cast(csm_owner_id as {{ dbt.type_string() }}) as csm_owner_id,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
    cast(created_date as date) as created_date,
    cast(first_event_date as date) as first_event_date,
    cast(last_event_date as date) as last_event_date,
    cast(case
        when current_churn_date is not null then 'churned'
        when subscription_status in ('trialing', 'past_due') then subscription_status
        else 'active'
    end as {{ dbt.type_string() }}) as lifecycle_status,
    cast(current_churn_date is not null as boolean) as is_churned,
    cast(current_churn_date as date) as churn_date,
    cast(churn_count as {{ dbt.type_int() }}) as churn_count,
    cast(subscription_status as {{ dbt.type_string() }}) as subscription_status,
    cast(plan as {{ dbt.type_string() }}) as plan,
    cast(billing_interval as {{ dbt.type_string() }}) as billing_interval,
    cast(seats as {{ dbt.type_int() }}) as seats,
    cast(mrr_usd as {{ type_double() }}) as mrr_usd,
    cast(mrr_usd * 12 as {{ type_double() }}) as arr_usd,
    -- 0, not negative, for an account created after the newest event (its events not delivered yet)
    cast(
        greatest({{ dbt.datediff('created_date', 'coalesce(current_churn_date, observation_end_date)', 'day') }}, 0)
        as {{ dbt.type_int() }}
    ) as tenure_days,
    cast(observation_end_date as date) as as_of_date

from joined
