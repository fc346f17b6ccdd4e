with

source as (

    select * from {{ source('product', 'accounts') }}

),

renamed as (

    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        nullif(trim(account_name), '') as account_name,
        nullif(lower(trim(industry)), '') as industry,
        cast(employee_count as {{ dbt.type_int() }}) as employee_count,
        nullif(lower(trim(region)), '') as region,
        nullif(trim(cast(csm_owner_id as {{ dbt.type_string() }})), '') as csm_owner_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at

    from source
    where account_id is not null

),

-- keep the most recently updated version of each account
deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='account_id',
        order_by=[
            'updated_at desc nulls last',
            'created_at desc nulls last',
            'account_name asc',
            'industry asc',
            'region asc',
        ],
    ) }}

)

select
    account_id,
    account_name,
    industry,
    employee_count,
    region,
    csm_owner_id,
    created_at,
    updated_at

from deduplicated
