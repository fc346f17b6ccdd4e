{#-
    One row per account and calendar month, from the month of the account's first
    subscription state to the month of the observation end: the recognized MRR in force at
    the end of the month (for the current month: at the observation end date).
-#}
with

periods as (

    select * from {{ ref('int_subscription_periods') }}

),

account_bounds as (

    select
        account_id,
        cast({{ dbt.date_trunc('month', 'min(period_start_date)') }} as date) as first_month_start_date
    from periods
    group by 1

),

calendar_bounds as (

    select
        min(account_bounds.first_month_start_date) as calendar_start_date,
        max(observation_period.observation_end_date) as observation_end_date
    from account_bounds
    cross join {{ ref('int_observation_period') }} as observation_period

),

calendar as (

    {{ day_spine('calendar_start_date', 'observation_end_date', 'calendar_bounds') }}

),

months as (

    select
        calendar.date_day as month_start_date,
        case
            when cast({{ dbt.last_day('calendar.date_day', 'month') }} as date) > calendar_bounds.observation_end_date
                then calendar_bounds.observation_end_date
            else cast({{ dbt.last_day('calendar.date_day', 'month') }} as date)
        end as month_end_date,
        cast({{ dbt.last_day('calendar.date_day', 'month') }} as date) > calendar_bounds.observation_end_date
            as is_partial_month
    from calendar
    cross join calendar_bounds
    where calendar.date_day = cast({{ dbt.date_trunc('month', 'calendar.date_day') }} as date)

),

account_months as (

    select
        account_bounds.account_id,
        months.month_start_date,
        months.month_end_date,
        months.is_partial_month
    from account_bounds
    inner join months on account_bounds.first_month_start_date <= months.month_start_date

)

select
    account_months.account_id,
    account_months.month_start_date,
    account_months.month_end_date,
    account_months.is_partial_month,
    coalesce(periods.subscription_status, 'none') as ending_subscription_status,
    periods.plan as ending_plan,
    periods.seats as ending_seats,
    coalesce(periods.mrr_usd, 0) as ending_mrr_usd

from account_months
left join periods
    on account_months.account_id = periods.account_id
    and account_months.month_end_date >= periods.period_start_date
    and (periods.period_end_date is null or account_months.month_end_date < periods.period_end_date)
