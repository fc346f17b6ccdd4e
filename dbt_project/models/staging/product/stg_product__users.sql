with

source as (

    select * from {{ source('product', 'users') }}

),

renamed as (

    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        {{ pseudonymize('lower(trim(email))') }} as email_hash,
        nullif(lower(trim(role)), '') as user_role,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(deactivated_at as {{ dbt.type_timestamp() }}) as deactivated_at

    from source
    where user_id is not null

),

-- keep the latest known state of each user (a deactivation is newer than the creation)
deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='user_id',
        order_by=[
            'coalesce(deactivated_at, created_at) desc nulls last',
            'account_id asc',
            'email_hash asc',
            'user_role asc',
        ],
    ) }}

)

select
    user_id,
    account_id,
    email_hash,
    user_role,
    created_at,
    deactivated_at

from deduplicated
