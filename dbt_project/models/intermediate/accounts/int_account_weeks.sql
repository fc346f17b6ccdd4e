{#-
    The observation grid: one row per account and as_of_date at which the account is a
    customer. as_of_dates are every Sunday from the end of the warm-up period
    (observation_warmup_days after the first event) to the observation end date, plus the
    observation end date itself when it is not a Sunday (the "current" snapshot scored every
    morning). An account is in the grid on a date when it was created on or before it and is
    not churned then (no churn on or before the date without a later reactivation on or
    before it).
-#}
with

observation_period as (

    select * from {{ ref('int_observation_period') }}

),

accounts as (

    select
        account_id,
        created_date
    from {{ ref('int_account_profiles') }}

),

churns as (

    select
        account_id,
        churn_date,
        reactivated_date
    from {{ ref('int_account_churn_dates') }}

),

calendar as (

    {{ day_spine('warmup_end_date', 'observation_end_date', ref('int_observation_period')) }}

),

as_of_dates as (

    select date_day as as_of_date
    from calendar
    where {{ is_sunday('date_day') }}

    union

    select observation_end_date
    from observation_period

),

candidates as (

    select
        accounts.account_id,
        as_of_dates.as_of_date
    from accounts
    inner join as_of_dates on accounts.created_date <= as_of_dates.as_of_date

),

churned as (

    select distinct
        candidates.account_id,
        candidates.as_of_date
    from candidates
    inner join churns
        on candidates.account_id = churns.account_id
        and candidates.as_of_date >= churns.churn_date
        and (churns.reactivated_date is null or candidates.as_of_date < churns.reactivated_date)

)

select
    candidates.account_id,
    candidates.as_of_date,
    candidates.as_of_date = observation_period.observation_end_date as is_current_snapshot

from candidates
cross join observation_period
left join churned
    on candidates.account_id = churned.account_id
    and candidates.as_of_date = churned.as_of_date
where churned.account_id is null
