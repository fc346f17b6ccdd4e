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
    valid_from,
    valid_to,
    current_period_end_at,
    canceled_at

from deduplicated
