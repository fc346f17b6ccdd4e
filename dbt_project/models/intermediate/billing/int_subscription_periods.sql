{#-
    One row per account and subscription state, at day grain: the state in force from
    period_start_date (inclusive) to period_end_date (exclusive; NULL = still in force).
    When several rows start on the same day, the last one is the state of that day.
    A period ends where the account's next state starts; the account's latest state ends at
    its valid_to, if any (the subscription ended without a successor).
    mrr_usd is recognized MRR: the listed MRR while the state is active or past_due, else 0
    (trials and canceled states bring no recurring revenue).
-#}
with

subscriptions as (

    select *
    from {{ ref('stg_billing__subscriptions') }}
    where account_id is not null
        and valid_from is not null

),

ranked as (

    select
        *,
        {{ to_date('valid_from') }} as period_start_date,
        row_number() over (
            partition by account_id, {{ to_date('valid_from') }}
            order by valid_from desc, subscription_id desc
        ) as rank_in_day
    from subscriptions

),

sequenced as (

    select
        *,
        lead(period_start_date) over (
            partition by account_id order by period_start_date
        ) as next_period_start_date
    from ranked
    where rank_in_day = 1

)

select
    account_id,
    subscription_id,
    period_start_date,
    case
        when next_period_start_date is not null then next_period_start_date
        when {{ to_date('valid_to') }} >= period_start_date then {{ to_date('valid_to') }}
    end as period_end_date,
    next_period_start_date is null as is_latest_period,
    subscription_status,
    subscription_status in ('trialing', 'active', 'past_due') as is_active,
    plan,
    seats,
    case when subscription_status in ('active', 'past_due') then coalesce(mrr_usd, 0) else 0 end as mrr_usd,
    mrr_usd as listed_mrr_usd,
    billing_interval,
    billing_interval_months,
    current_period_end_at,
    valid_from,
    valid_to

from sequenced
