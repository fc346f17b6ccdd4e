{#-
    One row per account and as_of_date of the observation grid: least-squares slope of the
    weekly (trailing 7-day) logins and core actions over the last 12 weeks ending on
    as_of_date, relative to their mean (so accounts of any size compare), e.g. -0.05 =
    activity falls by about 5 % of its average per week. Weeks before the account's start are
    left out; with fewer than 4 weeks or no activity at all the slope is NULL.
-#}
{%- set n_weeks = 12 -%}

with

grid as (

    select
        account_id,
        as_of_date
    from {{ ref('int_account_weeks') }}

),

rolling as (

    select
        account_id,
        activity_date,
        logins_7d,
        core_actions_7d
    from {{ ref('int_account_activity_rolling') }}

),

weeks_back as (

    {% for k in range(n_weeks) -%}
    select {{ k }} as weeks_ago{{ " union all" if not loop.last }}
    {% endfor %}

),

grid_weeks as (

    -- the 12 week-end dates of each snapshot, so the join below is a plain equi-join
    select
        grid.account_id,
        grid.as_of_date,
        -1 * weeks_back.weeks_ago as week_index,
        {{ add_days('-7 * weeks_back.weeks_ago', 'grid.as_of_date') }} as week_end_date
    from grid
    cross join weeks_back

),

weekly as (

    select
        grid_weeks.account_id,
        grid_weeks.as_of_date,
        grid_weeks.week_index,
        rolling.logins_7d,
        rolling.core_actions_7d
    from grid_weeks
    inner join rolling
        on grid_weeks.account_id = rolling.account_id
        and grid_weeks.week_end_date = rolling.activity_date

),

fits as (

    select
        account_id,
        as_of_date,
        count(*) as weeks_observed,
        covar_pop(logins_7d, week_index) / nullif(var_pop(week_index), 0) as logins_weekly_slope,
        covar_pop(core_actions_7d, week_index) / nullif(var_pop(week_index), 0) as core_actions_weekly_slope,
        avg(logins_7d) as logins_weekly_mean,
        avg(core_actions_7d) as core_actions_weekly_mean
    from weekly
    group by 1, 2

)

select
    account_id,
    as_of_date,
    weeks_observed,
    case
        when weeks_observed >= 4 then {{ safe_divide('logins_weekly_slope', 'logins_weekly_mean') }}
    end as logins_slope_12w,
    case
        when weeks_observed >= 4 then {{ safe_divide('core_actions_weekly_slope', 'core_actions_weekly_mean') }}
    end as core_actions_slope_12w

from fits
