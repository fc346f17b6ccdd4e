with

source as (

    select * from {{ source('billing', 'invoices') }}

),

renamed as (

    -- amounts are taken as already in the reporting currency (USD); no FX conversion
    select
        cast(invoice_id as {{ dbt.type_string() }}) as invoice_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(amount_due as {{ type_double() }}) as amount_due_usd,
        cast(amount_paid as {{ type_double() }}) as amount_paid_usd,
        nullif(upper(trim(currency)), '') as currency,
        lower(trim(status)) as invoice_status,
        cast(issued_at as {{ dbt.type_timestamp() }}) as issued_at,
        cast(due_at as {{ dbt.type_timestamp() }}) as due_at,
        cast(paid_at as {{ dbt.type_timestamp() }}) as paid_at

    from source
    where invoice_id is not null

),

-- keep the most advanced state of each invoice (a payment is newer than the issue)
deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='invoice_id',
        order_by=[
            'coalesce(paid_at, issued_at) desc nulls last',
            'amount_paid_usd desc nulls last',
            'invoice_status asc',
        ],
    ) }}

)

select
    invoice_id,
    account_id,
    subscription_id,
    amount_due_usd,
    amount_paid_usd,
    currency,
    invoice_status,
    issued_at,
    due_at,
    paid_at

from deduplicated
