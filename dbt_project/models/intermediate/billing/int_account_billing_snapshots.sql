{#-
    One row per account and as_of_date of the observation grid: the subscription state in
    force at the end of as_of_date, its change over 90 days, the next renewal, and invoice
    health. Point in time: an invoice counts only if issued by the end of as_of_date, and
    is paid only if paid by then (an invoice paid later was unpaid at as_of_date). The
    extraction-time invoice status is not used (it would leak the future), except that
    'void' invoices are left out and a 'paid' invoice without paid_at counts as paid on its
    due date. Invoice columns are NULL when the company provides no invoices at all.
-#}
with

grid as (

    select
        account_id,
        as_of_date
    from {{ ref('int_account_weeks') }}

),

mrr_daily as (

    select * from {{ ref('int_account_mrr_daily') }}

),

invoices_provided as (

    select count(*) > 0 as has_invoices from {{ ref('stg_billing__invoices') }}

),

invoices as (

    {{ invoices_as_billed() }}

),

invoices_at_snapshot as (

    select
        grid.account_id,
        grid.as_of_date,
        {{ to_date('invoices.issued_at') }} as issued_date,
        {{ to_date('invoices.due_at') }} as due_date,
        {{ to_date('invoices.paid_at') }} as paid_date,
        coalesce(invoices.paid_at < {{ end_of_day_bound('grid.as_of_date') }}, false) as is_paid,
        invoices.amount_due_usd
    from grid
    inner join invoices
        on grid.account_id = invoices.account_id
        and invoices.issued_at < {{ end_of_day_bound('grid.as_of_date') }}

),

invoice_features as (

    select
        account_id,
        as_of_date,
        sum(case
            when issued_date >= {{ add_days(-89, 'as_of_date') }}
                and ((is_paid and paid_date > due_date) or (not is_paid and due_date < as_of_date))
                then 1
            else 0
        end) as invoices_late_90d,
        sum(case when not is_paid then 1 else 0 end) as invoices_open,
        sum(case when not is_paid and due_date < as_of_date then 1 else 0 end) as invoices_past_due,
        sum(case when not is_paid and due_date < as_of_date then coalesce(amount_due_usd, 0) else 0 end)
            as amount_past_due_usd
    from invoices_at_snapshot
    group by 1, 2

),

states as (

    select
        grid.account_id,
        grid.as_of_date,
        current_state.subscription_status,
        current_state.is_active,
        current_state.plan,
        current_state.billing_interval,
        current_state.billing_interval_months,
        current_state.seats,
        current_state.mrr_usd,
        current_state.current_period_end_at,
        past_state.mrr_usd as mrr_90d_ago_usd,
        past_state.seats as seats_90d_ago,
        -- a renewal steps by whole months (1 without an interval), or by days when the interval
        -- is not a whole number of months ('2 weeks', '45 days')
        case
            when current_state.billing_interval_months is null then 1
            when current_state.billing_interval_months >= 1
                and current_state.billing_interval_months = floor(current_state.billing_interval_months)
                then cast(current_state.billing_interval_months as {{ dbt.type_int() }})
        end as renewal_step_months,
        case
            when current_state.billing_interval_months < 1
                or current_state.billing_interval_months > floor(current_state.billing_interval_months)
                then cast(round(current_state.billing_interval_months * 30.4375) as {{ dbt.type_int() }})
        end as renewal_step_days,
        {{ to_date('current_state.current_period_end_at') }} as period_end_date
    from grid
    left join mrr_daily as current_state
        on grid.account_id = current_state.account_id
        and grid.as_of_date = current_state.date_day
    left join mrr_daily as past_state
        on grid.account_id = past_state.account_id
        and past_state.date_day = {{ add_days(-90, 'grid.as_of_date') }}

),

renewals as (

    -- the subscription's period end, rolled forward by whole billing periods when the
    -- state row is older than the last renewal
    select
        *,
        case
            when renewal_step_days is null then cast({{ dbt.dateadd(
                'month',
                'renewal_step_months * ceil(cast(' ~ dbt.datediff('period_end_date', 'as_of_date', 'month') ~ ' as ' ~ type_double() ~ ') / renewal_step_months)',
                'period_end_date'
            ) }} as date)
            else cast({{ dbt.dateadd(
                'day',
                'renewal_step_days * ceil(cast(' ~ dbt.datediff('period_end_date', 'as_of_date', 'day') ~ ' as ' ~ type_double() ~ ') / renewal_step_days)',
                'period_end_date'
            ) }} as date)
        end as rolled_period_end_date
    from states

),

next_renewals as (

    select
        *,
        case
            when not is_active or period_end_date is null then null
            when period_end_date >= as_of_date then period_end_date
            when rolled_period_end_date >= as_of_date then rolled_period_end_date
            when renewal_step_days is null
                then cast({{ dbt.dateadd('month', 'renewal_step_months', 'rolled_period_end_date') }} as date)
            else cast({{ dbt.dateadd('day', 'renewal_step_days', 'rolled_period_end_date') }} as date)
        end as next_renewal_date
    from renewals

)

select
    next_renewals.account_id,
    next_renewals.as_of_date,
    next_renewals.subscription_status,
    next_renewals.plan,
    next_renewals.billing_interval,
    next_renewals.billing_interval_months,
    next_renewals.seats,
    next_renewals.mrr_usd,
    next_renewals.mrr_usd * 12 as arr_usd,
    case
        when next_renewals.mrr_usd is not null
            then next_renewals.mrr_usd - coalesce(next_renewals.mrr_90d_ago_usd, 0)
    end as mrr_change_90d_usd,
    case
        when next_renewals.mrr_90d_ago_usd > 0
            then next_renewals.mrr_usd / next_renewals.mrr_90d_ago_usd - 1
    end as mrr_change_90d_pct,
    next_renewals.seats - next_renewals.seats_90d_ago as seats_change_90d,
    next_renewals.next_renewal_date,
    {{ dbt.datediff('next_renewals.as_of_date', 'next_renewals.next_renewal_date', 'day') }}
        as days_to_renewal,
    case when invoices_provided.has_invoices then coalesce(invoice_features.invoices_late_90d, 0) end
        as invoices_late_90d,
    case when invoices_provided.has_invoices then coalesce(invoice_features.invoices_open, 0) end
        as invoices_open,
    case when invoices_provided.has_invoices then coalesce(invoice_features.invoices_past_due, 0) end
        as invoices_past_due,
    case when invoices_provided.has_invoices then coalesce(invoice_features.amount_past_due_usd, 0) end
        as amount_past_due_usd

from next_renewals
cross join invoices_provided
left join invoice_features
    on next_renewals.account_id = invoice_features.account_id
    and next_renewals.as_of_date = invoice_features.as_of_date
