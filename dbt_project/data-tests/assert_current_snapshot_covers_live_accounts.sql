-- Every account that is not churned at the observation end date (and was created by then)
-- must have a current snapshot: that row is what gets scored each morning, so a missing row
-- means a live customer silently gets no health score. Churned accounts must not have one.
with

accounts as (

    select
        account_id,
        is_churned,
        created_date,
        as_of_date
    from {{ ref('dim_accounts') }}

),

current_snapshots as (

    select account_id from {{ ref('fct_account_features_weekly') }}
    where is_current_snapshot

)

select
    accounts.account_id,
    accounts.is_churned,
    current_snapshots.account_id as snapshot_account_id
from accounts
full outer join current_snapshots on accounts.account_id = current_snapshots.account_id
where
    (accounts.created_date <= accounts.as_of_date and not accounts.is_churned and current_snapshots.account_id is null)
    or (accounts.is_churned and current_snapshots.account_id is not null)
    or accounts.account_id is null
