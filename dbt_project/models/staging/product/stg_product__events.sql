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
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at

    from source
    where event_id is not null
    {% if is_incremental() -%}
        -- an incremental run rebuilds the days from the refresh date on (macros/incremental.sql);
        -- duplicates are removed among them
        and occurred_at >= cast({{ refresh_from_date('occurred_at') }} as {{ dbt.type_timestamp() }})
    {%- endif %}

),

duplicated_event_ids as (

    select event_id
    from renamed
    group by event_id
    having count(*) > 1

),

deduplicated as (

    -- almost every event_id is unique: only the duplicated ones go through the (costly)
    -- window; a re-delivered event keeps its latest delivery
    select renamed.*, 1 as row_num
    from renamed
    left join duplicated_event_ids on renamed.event_id = duplicated_event_ids.event_id
    where duplicated_event_ids.event_id is null

    union all

    select
        renamed.*,
        row_number() over (
            partition by renamed.event_id
            order by renamed.received_at desc nulls last, renamed.occurred_at desc nulls last,
                renamed.account_id, renamed.user_id, renamed.event_name
        ) as row_num
    from renamed
    inner join duplicated_event_ids on renamed.event_id = duplicated_event_ids.event_id

)

select
    event_id,
    account_id,
    user_id,
    event_name,
    feature,
    occurred_at,
    received_at

from deduplicated
where row_num = 1
