with

source as (

    select * from {{ source('product', 'events') }}

),

renamed as (

    -- `properties` (free JSON) is dropped: no feature needs it and it may carry PII
    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        lower(trim(event_name)) as event_name,
        nullif(lower(trim(feature)), '') as feature,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        {{ to_date('occurred_at') }} as occurred_date,
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at

    from source
    where event_id is not null
    {% if is_incremental() -%}
        -- an incremental run rebuilds the days from the refresh date on (macros/incremental.sql);
        -- duplicates are removed among them
        and occurred_at >= cast({{ refresh_from_date('occurred_at') }} as {{ dbt.type_timestamp() }})
    {%- endif %}

),

-- a re-delivered event keeps its latest delivery
deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='event_id',
        order_by=[
            'received_at desc nulls last',
            'occurred_at desc nulls last',
            'account_id asc',
            'user_id asc',
            'event_name asc',
        ],
    ) }}

)

select
    event_id,
    account_id,
    user_id,
    event_name,
    feature,
    occurred_at,
    received_at,
    -- the day partition of the events on Spark (dbt_project.yml)
    occurred_date

from deduplicated
