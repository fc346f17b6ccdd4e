{#-
    One row per subscription state, deduplicated on subscription_id. billing_interval keeps the
    company's text (trimmed, lower-cased); billing_interval_months normalizes it to months:
    "N day/week/month/quarter/year(s)", with an optional "every", or one word ('monthly',
    'annual', 'quarterly', ...). A day is 12 / 365.25 of a month (1 / 30.4375) and a week 7 days;
    N defaults to 1. Ingestion has already set every text that does not parse to NULL (and counted
    it), with the same pattern as the raw contract (dagster_project/core/contract.py).
-#}
{%- set billing_interval_pattern =
    "^(?:every +)?([1-9][0-9]*)? *-? *"
    ~ "(day|daily|week|weekly|month|monthly|quarter|quarterly|year|yearly|annual|annually)s?$" -%}
{%- set days_per_month = 30.4375 -%}
with

source as (

    select * from {{ source('billing', 'subscriptions') }}

),

renamed as (

    -- amounts are taken as already in the reporting currency (USD); no FX conversion
    select
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        lower(trim(status)) as subscription_status,
        nullif(lower(trim(plan)), '') as plan,
        cast(seats as {{ dbt.type_int() }}) as seats,
        cast(mrr as {{ type_double() }}) as mrr_usd,
        nullif(upper(trim(currency)), '') as currency,
        nullif(lower(trim(billing_interval)), '') as billing_interval,
        cast(valid_from as {{ dbt.type_timestamp() }}) as valid_from,
        cast(valid_to as {{ dbt.type_timestamp() }}) as valid_to,
        cast(current_period_end as {{ dbt.type_timestamp() }}) as current_period_end_at,
        cast(canceled_at as {{ dbt.type_timestamp() }}) as canceled_at

    from source
    where subscription_id is not null

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='subscription_id',
        order_by=[
            'valid_from desc nulls last',
            'valid_to desc nulls first',
            'subscription_status asc',
            'mrr_usd desc',
        ],
    ) }}

),

intervals as (

    select
        *,
        cast(nullif(regexp_extract(billing_interval, '{{ billing_interval_pattern }}', 1), '') as {{ dbt.type_int() }})
            as interval_count,
        nullif(regexp_extract(billing_interval, '{{ billing_interval_pattern }}', 2), '') as interval_unit
    from deduplicated

)

select
    subscription_id,
    account_id,
    subscription_status,
    plan,
    seats,
    mrr_usd,
    currency,
    billing_interval,
    cast(coalesce(interval_count, 1) * case
        -- double division on every engine (Spark would divide these literals as decimals, rounded)
        when interval_unit in ('day', 'daily') then cast(1 as {{ type_double() }}) / {{ days_per_month }}
        when interval_unit in ('week', 'weekly') then cast(7 as {{ type_double() }}) / {{ days_per_month }}
        when interval_unit in ('month', 'monthly') then 1
        when interval_unit in ('quarter', 'quarterly') then 3
        when interval_unit in ('year', 'yearly', 'annual', 'annually') then 12
    end as {{ type_double() }}) as billing_interval_months,
    valid_from,
    valid_to,
    current_period_end_at,
    canceled_at

from intervals
