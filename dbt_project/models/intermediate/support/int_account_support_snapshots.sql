{#-
    One row per account and as_of_date of the observation grid: support load and quality as
    known at the end of as_of_date. Point in time: a ticket counts if created by then; it
    is open unless solved by then (a ticket solved later was open at as_of_date); response
    and resolution times count only once they happened; a satisfaction rating is known once
    the ticket is solved. The extraction-time ticket status is used only for tickets
    marked solved/closed without a solved_at (counted as solved). Columns are NULL when the
    company provides no tickets at all.
-#}
with

grid as (

    select
        account_id,
        as_of_date
    from {{ ref('int_account_weeks') }}

),

tickets_provided as (

    select count(*) > 0 as has_tickets from {{ ref('stg_support__tickets') }}

),

tickets as (

    select * from {{ ref('stg_support__tickets') }}
    where created_at is not null

),

tickets_at_snapshot as (

    select
        grid.account_id,
        grid.as_of_date,
        {{ to_date('tickets.created_at') }} as created_date,
        tickets.priority,
        tickets.category,
        tickets.satisfaction,
        case
            when tickets.solved_at is null then tickets.ticket_status not in ('solved', 'closed')
            else tickets.solved_at >= {{ end_of_day_bound('grid.as_of_date') }}
        end as is_open,
        case
            when tickets.solved_at < {{ end_of_day_bound('grid.as_of_date') }}
                then {{ to_date('tickets.solved_at') }}
        end as solved_date,
        -- hours as doubles on every engine (Spark would divide by the literal 60.0 as a decimal, rounded)
        case
            when tickets.first_response_at < {{ end_of_day_bound('grid.as_of_date') }}
                then cast(
                        {{ dbt.datediff('tickets.created_at', 'tickets.first_response_at', 'minute') }}
                        as {{ type_double() }}
                    ) / 60
        end as first_response_hours,
        case
            when tickets.solved_at < {{ end_of_day_bound('grid.as_of_date') }}
                then cast(
                        {{ dbt.datediff('tickets.created_at', 'tickets.solved_at', 'minute') }}
                        as {{ type_double() }}
                    ) / 60
        end as resolution_hours
    from grid
    inner join tickets
        on grid.account_id = tickets.account_id
        and tickets.created_at < {{ end_of_day_bound('grid.as_of_date') }}

),

ticket_features as (

    select
        account_id,
        as_of_date,
        sum(case when created_date >= {{ add_days(-29, 'as_of_date') }} then 1 else 0 end) as tickets_30d,
        sum(case when created_date >= {{ add_days(-89, 'as_of_date') }} then 1 else 0 end) as tickets_90d,
        sum(case
            when created_date >= {{ add_days(-89, 'as_of_date') }} and priority in ('high', 'urgent') then 1 else 0
        end) as high_priority_tickets_90d,
        sum(case
            when created_date >= {{ add_days(-89, 'as_of_date') }} and category = 'bug' then 1 else 0
        end) as bug_tickets_90d,
        sum(case
            when created_date >= {{ add_days(-89, 'as_of_date') }} and category = 'integration' then 1 else 0
        end) as integration_tickets_90d,
        sum(case
            when created_date >= {{ add_days(-89, 'as_of_date') }} and category = 'billing' then 1 else 0
        end) as billing_tickets_90d,
        sum(case when is_open then 1 else 0 end) as open_tickets,
        {{ median('case when created_date >= ' ~ add_days(-89, 'as_of_date') ~ ' then first_response_hours end') }}
            as median_first_response_hours_90d,
        {{ median('case when solved_date >= ' ~ add_days(-89, 'as_of_date') ~ ' then resolution_hours end') }}
            as median_resolution_hours_90d,
        sum(case
            when solved_date >= {{ add_days(-89, 'as_of_date') }} and satisfaction = 'bad' then 1 else 0
        end) as bad_satisfaction_90d
    from tickets_at_snapshot
    group by 1, 2

)

select
    grid.account_id,
    grid.as_of_date,
    {%- for column in [
        'tickets_30d', 'tickets_90d', 'high_priority_tickets_90d', 'bug_tickets_90d',
        'integration_tickets_90d', 'billing_tickets_90d', 'open_tickets', 'bad_satisfaction_90d'
    ] %}
    case when tickets_provided.has_tickets then coalesce(ticket_features.{{ column }}, 0) end as {{ column }},
    {%- endfor %}
    ticket_features.median_first_response_hours_90d,
    ticket_features.median_resolution_hours_90d

from grid
cross join tickets_provided
left join ticket_features
    on grid.account_id = ticket_features.account_id
    and grid.as_of_date = ticket_features.as_of_date
