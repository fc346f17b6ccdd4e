with

source as (

    select * from {{ source('cs', 'cs_activities') }}

),

renamed as (

    select
        cast(activity_id as {{ dbt.type_string() }}) as activity_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        nullif(trim(cast(alert_id as {{ dbt.type_string() }})), '') as alert_id,
        nullif(trim(cast(owner_id as {{ dbt.type_string() }})), '') as owner_id,
        trim(playbook) as playbook,
        nullif(lower(trim(outcome)), '') as outcome,
        nullif(lower(trim(feedback)), '') as feedback,
        nullif(trim(feedback_reason), '') as feedback_reason,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(completed_at as {{ dbt.type_timestamp() }}) as completed_at

    from source
    where activity_id is not null

),

-- keep the most advanced state of each activity: completed before open, then the latest completion
deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='activity_id',
        order_by=[
            'completed_at desc nulls last',
            'created_at desc nulls last',
            'outcome asc nulls last',
            'feedback asc nulls last',
            'account_id asc',
            'playbook asc',
            'alert_id asc nulls last',
        ],
    ) }}

)

select
    activity_id,
    account_id,
    alert_id,
    owner_id,
    playbook,
    outcome,
    feedback,
    feedback_reason,
    created_at,
    completed_at,
    case
        when completed_at is not null
            -- a double on every engine (Spark would divide by the literal 60.0 as a decimal, rounded)
            then cast(
                    {{ dbt.datediff('created_at', 'completed_at', 'minute') }}
                    as {{ type_double() }}
                ) / 60
    end as response_hours

from deduplicated
