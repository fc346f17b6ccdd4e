-- An account must not appear in the observation grid while it is churned (on or after a churn
-- date, before any reactivation). Snapshots of already-churned accounts would teach the model
-- to "predict" churns that have already happened and would be scored as live customers.
with

snapshots as (

    select
        account_id,
        as_of_date
    from {{ ref('fct_account_features_weekly') }}

),

churns as (

    select
        account_id,
        churn_date,
        reactivated_date
    from {{ ref('int_account_churn_dates') }}

)

select
    snapshots.account_id,
    snapshots.as_of_date,
    churns.churn_date,
    churns.reactivated_date
from snapshots
inner join churns
    on snapshots.account_id = churns.account_id
    and snapshots.as_of_date >= churns.churn_date
    and (churns.reactivated_date is null or snapshots.as_of_date < churns.reactivated_date)
