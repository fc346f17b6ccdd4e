{#-
    One row per account and day (dense): the subscription state in force at the end of that
    day, i.e. the state with the latest start on or before it. Days after the account's last
    state ended (valid_to) have status 'none' and no MRR. Starts 90 days before the
    observation start at the earliest (enough for "MRR 90 days ago" on the first snapshot)
    and ends on the observation end date.
-#}
with

periods as (

    select * from {{ ref('int_subscription_periods') }}

),

observation_period as (

    select
        {{ add_days(-90, 'observation_start_date') }} as calendar_start_date,
        observation_end_date
    from {{ ref('int_observation_period') }}

),

calendar as (

    {{ day_spine('calendar_start_date', 'observation_end_date', 'observation_period') }}

),

account_bounds as (

    select
        account_id,
        min(period_start_date) as first_period_start_date
    from periods
    group by 1

),

account_days as (

    select
        account_bounds.account_id,
        calendar.date_day
    from account_bounds
    inner join calendar on account_bounds.first_period_start_date <= calendar.date_day

)

select
    account_days.account_id,
    account_days.date_day,
    periods.subscription_id,
    coalesce(periods.subscription_status, 'none') as subscription_status,
    coalesce(periods.is_active, false) as is_active,
    periods.plan,
    periods.seats,
    coalesce(periods.mrr_usd, 0) as mrr_usd,
    periods.billing_interval,
    periods.billing_interval_months,
    periods.current_period_end_at,
    periods.period_start_date

from account_days
left join periods
    on account_days.account_id = periods.account_id
    and account_days.date_day >= periods.period_start_date
    and (periods.period_end_date is null or account_days.date_day < periods.period_end_date)
