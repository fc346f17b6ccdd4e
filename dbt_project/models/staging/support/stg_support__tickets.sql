with

source as (

    select * from {{ source('support', 'tickets') }}

),

renamed as (

    select
        cast(ticket_id as {{ dbt.type_string() }}) as ticket_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(requester_user_id as {{ dbt.type_string() }}) as requester_user_id,
        nullif(lower(trim(priority)), '') as priority,
        nullif(lower(trim(category)), '') as category,
        nullif(lower(trim(status)), '') as ticket_status,
        nullif(lower(trim(satisfaction)), '') as satisfaction,
        {{ pseudonymize('subject') }} as subject_hash,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(first_response_at as {{ dbt.type_timestamp() }}) as first_response_at,
        cast(solved_at as {{ dbt.type_timestamp() }}) as solved_at

    from source
    where ticket_id is not null

),

-- keep the most advanced state of each ticket
deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='ticket_id',
        order_by=[
            'coalesce(solved_at, first_response_at, created_at) desc nulls last',
            'ticket_status asc',
            'satisfaction asc',
        ],
    ) }}

)

select
    ticket_id,
    account_id,
    requester_user_id,
    priority,
    category,
    ticket_status,
    satisfaction,
    subject_hash,
    created_at,
    first_response_at,
    solved_at

from deduplicated
