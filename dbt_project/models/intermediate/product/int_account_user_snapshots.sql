{#-
    One row per account and as_of_date of the observation grid: the users provisioned at the
    end of as_of_date (created by then and not deactivated by then) and the users deactivated
    in the 90 days up to it (a champion leaving is a classic churn signal). NULL when the
    company provides no users table.
-#}
with

grid as (

    select
        account_id,
        as_of_date
    from {{ ref('int_account_weeks') }}

),

users_provided as (

    select count(*) > 0 as has_users from {{ ref('stg_product__users') }}

),

users as (

    select
        account_id,
        created_at,
        deactivated_at
    from {{ ref('stg_product__users') }}
    where created_at is not null

),

user_features as (

    select
        grid.account_id,
        grid.as_of_date,
        sum(case
            when users.deactivated_at is null or users.deactivated_at >= {{ end_of_day_bound('grid.as_of_date') }}
                then 1
            else 0
        end) as provisioned_users,
        sum(case
            when users.deactivated_at < {{ end_of_day_bound('grid.as_of_date') }}
                and users.deactivated_at >= cast({{ add_days(-89, 'grid.as_of_date') }} as {{ dbt.type_timestamp() }})
                then 1
            else 0
        end) as users_deactivated_90d
    from grid
    inner join users
        on grid.account_id = users.account_id
        and users.created_at < {{ end_of_day_bound('grid.as_of_date') }}
    group by 1, 2

)

select
    grid.account_id,
    grid.as_of_date,
    case when users_provided.has_users then coalesce(user_features.provisioned_users, 0) end as provisioned_users,
    case when users_provided.has_users then coalesce(user_features.users_deactivated_90d, 0) end
        as users_deactivated_90d

from grid
cross join users_provided
left join user_features
    on grid.account_id = user_features.account_id
    and grid.as_of_date = user_features.as_of_date
