with

source as (

    select * from {{ source('feedback', 'nps_responses') }}

),

renamed as (

    select
        cast(response_id as {{ dbt.type_string() }}) as response_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(score as {{ dbt.type_int() }}) as nps_score,
        {{ pseudonymize("nullif(trim(comment), '')") }} as comment_hash,
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at

    from source
    where response_id is not null

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='response_id',
        order_by=[
            'responded_at desc nulls last',
            'nps_score asc',
            'account_id asc',
        ],
    ) }}

)

select
    response_id,
    account_id,
    user_id,
    nps_score,
    case
        when nps_score >= 9 then 'promoter'
        when nps_score >= 7 then 'passive'
        when nps_score >= 0 then 'detractor'
    end as nps_category,
    comment_hash,
    responded_at

from deduplicated
