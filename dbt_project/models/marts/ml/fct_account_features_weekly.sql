{#-
    One row per account and as_of_date of the observation grid (weekly Sundays plus the
    current snapshot): the account's features, computed only from data known at the end of
    as_of_date. Column families are declared in the yml (meta.feature_family) and drive the
    ML sub-scores. Ratios are NULL when their denominator is 0 or not fully observed.
-#}
{%- set int_type = dbt.type_int() -%}
{%- set dbl_type = type_double() -%}
{%- set str_type = dbt.type_string() -%}

with

grid as (

    select * from {{ ref('int_account_weeks') }}

),

profiles as (

    select * from {{ ref('int_account_profiles') }}

),

activity as (

    select * from {{ ref('int_account_activity_rolling') }}

),

spend as (

    select * from {{ ref('int_account_spend_snapshots') }}

),

trends as (

    select * from {{ ref('int_account_activity_trends') }}

),

users as (

    select * from {{ ref('int_account_user_snapshots') }}

),

billing as (

    select * from {{ ref('int_account_billing_snapshots') }}

),

support as (

    select * from {{ ref('int_account_support_snapshots') }}

),

nps as (

    select * from {{ ref('int_account_nps_snapshots') }}

),

joined as (

    select
        grid.account_id,
        grid.as_of_date,
        grid.is_current_snapshot,
        -- the prior 30-day window (days 31-60 before as_of_date) lies within the account's history
        activity.account_start_date <= {{ add_days(-59, 'grid.as_of_date') }} as has_prior_30d,
        profiles.created_date,
        profiles.industry,
        profiles.size_band,
        profiles.region,
        profiles.employee_count,
        activity.account_start_date,
        activity.events_30d,
        activity.active_days_30d,
        activity.logins_7d,
        activity.logins_30d,
        activity.logins_90d,
        activity.logins_prior_30d,
        activity.core_actions_7d,
        activity.core_actions_30d,
        activity.core_actions_90d,
        activity.core_actions_prior_30d,
        activity.errors_30d,
        activity.integrations_connected_90d,
        activity.integrations_removed_90d,
        activity.users_invited_30d,
        activity.exports_30d,
        activity.api_calls_30d,
        activity.active_users_7d,
        activity.active_users_30d,
        activity.active_users_prior_30d,
        activity.feature_breadth_30d,
        activity.last_login_date,
        activity.last_active_date,
        activity.active_days_90d,
        activity.max_active_gap_days_90d,
        -- running totals a year earlier (none before the account's start: 0)
        activity.active_days_total - coalesce(year_before.active_days_total, 0) as active_days_365d,
        activity.active_gap_days_total - coalesce(year_before.active_gap_days_total, 0) as active_gap_days_365d,
        activity.active_gaps_total - coalesce(year_before.active_gaps_total, 0) as active_gaps_365d,
        activity.peak_logins_7d,
        activity.peak_core_actions_7d,
        trends.logins_slope_12w,
        trends.core_actions_slope_12w,
        users.provisioned_users,
        users.users_deactivated_90d,
        billing.subscription_status,
        billing.plan,
        billing.billing_interval,
        billing.seats,
        billing.mrr_usd,
        billing.arr_usd,
        billing.mrr_change_90d_usd,
        billing.mrr_change_90d_pct,
        billing.seats_change_90d,
        billing.days_to_renewal,
        billing.invoices_late_90d,
        billing.invoices_open,
        billing.invoices_past_due,
        billing.amount_past_due_usd,
        spend.amount_paid_90d_usd,
        spend.amount_paid_365d_usd,
        spend.invoices_paid_365d,
        spend.days_since_last_invoice,
        support.tickets_30d,
        support.tickets_90d,
        support.high_priority_tickets_90d,
        support.bug_tickets_90d,
        support.integration_tickets_90d,
        support.billing_tickets_90d,
        support.open_tickets,
        support.median_first_response_hours_90d,
        support.median_resolution_hours_90d,
        support.bad_satisfaction_90d,
        nps.nps_latest_score,
        nps.nps_score_change,
        nps.nps_avg_score_180d,
        nps.nps_180d,
        nps.nps_detractor_share_180d,
        nps.nps_responses_180d,
        nps.days_since_last_nps

    from grid
    inner join profiles on grid.account_id = profiles.account_id
    left join activity
        on grid.account_id = activity.account_id
        and grid.as_of_date = activity.activity_date
    left join activity as year_before
        on grid.account_id = year_before.account_id
        and year_before.activity_date = {{ add_days(-365, 'grid.as_of_date') }}
    left join spend
        on grid.account_id = spend.account_id
        and grid.as_of_date = spend.as_of_date
    left join trends
        on grid.account_id = trends.account_id
        and grid.as_of_date = trends.as_of_date
    left join users
        on grid.account_id = users.account_id
        and grid.as_of_date = users.as_of_date
    left join billing
        on grid.account_id = billing.account_id
        and grid.as_of_date = billing.as_of_date
    left join support
        on grid.account_id = support.account_id
        and grid.as_of_date = support.as_of_date
    left join nps
        on grid.account_id = nps.account_id
        and grid.as_of_date = nps.as_of_date

)

select
    -- ids
    cast(account_id as {{ str_type }}) as account_id,
    cast(as_of_date as date) as as_of_date,
    cast(is_current_snapshot as boolean) as is_current_snapshot,

    -- usage
    cast(coalesce(logins_7d, 0) as {{ int_type }}) as logins_7d,
    cast(coalesce(logins_30d, 0) as {{ int_type }}) as logins_30d,
    cast(coalesce(logins_90d, 0) as {{ int_type }}) as logins_90d,
    cast(coalesce(active_users_7d, 0) as {{ int_type }}) as active_users_7d,
    cast(coalesce(active_users_30d, 0) as {{ int_type }}) as active_users_30d,
    cast({{ safe_divide('coalesce(active_users_30d, 0)', 'seats') }} as {{ dbl_type }}) as seat_utilization_30d,
    cast(coalesce(core_actions_7d, 0) as {{ int_type }}) as core_actions_7d,
    cast(coalesce(core_actions_30d, 0) as {{ int_type }}) as core_actions_30d,
    cast(coalesce(core_actions_90d, 0) as {{ int_type }}) as core_actions_90d,
    cast({{ safe_divide('core_actions_30d', 'active_users_30d') }} as {{ dbl_type }})
        as core_actions_per_active_user_30d,
    cast(coalesce(events_30d, 0) as {{ int_type }}) as events_30d,
    cast(coalesce(active_days_30d, 0) as {{ int_type }}) as active_days_30d,
    cast(coalesce(feature_breadth_30d, 0) as {{ int_type }}) as feature_breadth_30d,
    cast(
        {{ dbt.datediff('coalesce(last_login_date, account_start_date, created_date)', 'as_of_date', 'day') }}
        as {{ int_type }}
    ) as days_since_last_login,
    cast(
        {{ dbt.datediff('coalesce(last_active_date, account_start_date, created_date)', 'as_of_date', 'day') }}
        as {{ int_type }}
    ) as days_since_last_activity,
    cast(coalesce(active_days_90d, 0) as {{ int_type }}) as active_days_90d,
    cast(coalesce(active_days_365d, 0) as {{ int_type }}) as active_days_365d,
    cast({{ safe_divide('active_gap_days_365d', 'active_gaps_365d') }} as {{ dbl_type }}) as mean_active_gap_days_365d,
    cast(max_active_gap_days_90d as {{ int_type }}) as max_active_gap_days_90d,
    cast(coalesce(errors_30d, 0) as {{ int_type }}) as errors_30d,
    cast({{ safe_divide('errors_30d', 'events_30d') }} as {{ dbl_type }}) as error_rate_30d,

    -- adoption
    cast(coalesce(integrations_connected_90d, 0) as {{ int_type }}) as integrations_connected_90d,
    cast(coalesce(integrations_removed_90d, 0) as {{ int_type }}) as integrations_removed_90d,
    cast(coalesce(users_invited_30d, 0) as {{ int_type }}) as users_invited_30d,
    cast(coalesce(exports_30d, 0) as {{ int_type }}) as exports_30d,
    cast(coalesce(api_calls_30d, 0) as {{ int_type }}) as api_calls_30d,
    cast(provisioned_users as {{ int_type }}) as provisioned_users,
    cast(users_deactivated_90d as {{ int_type }}) as users_deactivated_90d,

    -- trend
    cast(
        case when has_prior_30d then {{ safe_divide('logins_30d', 'logins_prior_30d') }} end
        as {{ dbl_type }}
    ) as logins_30d_vs_prior_30d,
    cast(
        case when has_prior_30d then {{ safe_divide('core_actions_30d', 'core_actions_prior_30d') }} end
        as {{ dbl_type }}
    ) as core_actions_30d_vs_prior_30d,
    cast(
        case when has_prior_30d then {{ safe_divide('active_users_30d', 'active_users_prior_30d') }} end
        as {{ dbl_type }}
    ) as active_users_30d_vs_prior_30d,
    cast(logins_slope_12w as {{ dbl_type }}) as logins_slope_12w,
    cast(core_actions_slope_12w as {{ dbl_type }}) as core_actions_slope_12w,
    cast({{ safe_divide('logins_7d', 'peak_logins_7d') }} as {{ dbl_type }}) as logins_share_of_peak,
    cast({{ safe_divide('core_actions_7d', 'peak_core_actions_7d') }} as {{ dbl_type }}) as core_actions_share_of_peak,
    cast(
        {{ safe_divide(
            dbt.datediff('coalesce(last_active_date, account_start_date, created_date)', 'as_of_date', 'day'),
            safe_divide('active_gap_days_365d', 'active_gaps_365d'))
        }} as {{ dbl_type }}
    ) as days_since_last_activity_vs_mean_gap,

    -- billing
    cast(subscription_status as {{ str_type }}) as subscription_status,
    cast(plan as {{ str_type }}) as plan,
    cast(billing_interval as {{ str_type }}) as billing_interval,
    cast(seats as {{ int_type }}) as seats,
    cast(mrr_usd as {{ dbl_type }}) as mrr_usd,
    cast(arr_usd as {{ dbl_type }}) as arr_usd,
    cast(mrr_change_90d_usd as {{ dbl_type }}) as mrr_change_90d_usd,
    cast(mrr_change_90d_pct as {{ dbl_type }}) as mrr_change_90d_pct,
    cast(seats_change_90d as {{ int_type }}) as seats_change_90d,
    cast(days_to_renewal as {{ int_type }}) as days_to_renewal,
    cast(
        {{ dbt.datediff('created_date', 'as_of_date', 'day') }}
        as {{ int_type }}
    ) as tenure_days,
    cast(invoices_late_90d as {{ int_type }}) as invoices_late_90d,
    cast(invoices_open as {{ int_type }}) as invoices_open,
    cast(invoices_past_due as {{ int_type }}) as invoices_past_due,
    cast(amount_past_due_usd as {{ dbl_type }}) as amount_past_due_usd,
    cast(amount_paid_90d_usd as {{ dbl_type }}) as amount_paid_90d_usd,
    cast(amount_paid_365d_usd as {{ dbl_type }}) as amount_paid_365d_usd,
    cast(invoices_paid_365d as {{ int_type }}) as invoices_paid_365d,
    cast(days_since_last_invoice as {{ int_type }}) as days_since_last_invoice,

    -- support
    cast(tickets_30d as {{ int_type }}) as tickets_30d,
    cast(tickets_90d as {{ int_type }}) as tickets_90d,
    cast(high_priority_tickets_90d as {{ int_type }}) as high_priority_tickets_90d,
    cast(bug_tickets_90d as {{ int_type }}) as bug_tickets_90d,
    cast(integration_tickets_90d as {{ int_type }}) as integration_tickets_90d,
    cast(billing_tickets_90d as {{ int_type }}) as billing_tickets_90d,
    cast(open_tickets as {{ int_type }}) as open_tickets,
    cast(median_first_response_hours_90d as {{ dbl_type }}) as median_first_response_hours_90d,
    cast(median_resolution_hours_90d as {{ dbl_type }}) as median_resolution_hours_90d,
    cast(bad_satisfaction_90d as {{ int_type }}) as bad_satisfaction_90d,

    -- sentiment
    cast(nps_latest_score as {{ int_type }}) as nps_latest_score,
    cast(nps_score_change as {{ int_type }}) as nps_score_change,
    cast(nps_avg_score_180d as {{ dbl_type }}) as nps_avg_score_180d,
    cast(nps_180d as {{ dbl_type }}) as nps_180d,
    cast(nps_detractor_share_180d as {{ dbl_type }}) as nps_detractor_share_180d,
    cast(nps_responses_180d as {{ int_type }}) as nps_responses_180d,
    cast(days_since_last_nps as {{ int_type }}) as days_since_last_nps,

    -- firmographic
    cast(industry as {{ str_type }}) as industry,
    cast(size_band as {{ str_type }}) as size_band,
    cast(region as {{ str_type }}) as region,
    cast(employee_count as {{ int_type }}) as employee_count

from joined
