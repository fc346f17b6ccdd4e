{#-
    One row per account and as_of_date of the observation grid: what the account has spent,
    from its invoices, as known at the end of as_of_date: the amount paid in the last 90 and
    365 days, the invoices paid in the last 365 days, and the days since the last invoice was
    issued. Spend is the signal of purchase-style products (no subscription, an invoice per
    order). Point in time: an invoice counts only once issued, a payment only once paid, by the
    end of as_of_date; 'void' invoices are left out, and a 'paid' invoice without paid_at counts
    as paid on its due date. Every column is NULL when the company provides no invoices.
-#}
with

grid as (

    select
        account_id,
        as_of_date
    from {{ ref('int_account_weeks') }}

),

invoices_provided as (

    select count(*) > 0 as has_invoices from {{ ref('stg_billing__invoices') }}

),

invoices as (

    {{ invoices_as_billed() }}

),

known_invoices as (

    select
        grid.account_id,
        grid.as_of_date,
        {{ to_date('invoices.issued_at') }} as issued_date,
        case
            when invoices.paid_at < {{ end_of_day_bound('grid.as_of_date') }}
                then {{ to_date('invoices.paid_at') }}
        end as paid_date,
        invoices.amount_paid_usd
    from grid
    inner join invoices
        on grid.account_id = invoices.account_id
        and invoices.issued_at < {{ end_of_day_bound('grid.as_of_date') }}

),

spend as (

    select
        account_id,
        as_of_date,
        sum(case when paid_date >= {{ add_days(-89, 'as_of_date') }} then amount_paid_usd else 0 end)
            as amount_paid_90d_usd,
        sum(case when paid_date >= {{ add_days(-364, 'as_of_date') }} then amount_paid_usd else 0 end)
            as amount_paid_365d_usd,
        sum(case when paid_date >= {{ add_days(-364, 'as_of_date') }} then 1 else 0 end) as invoices_paid_365d,
        max(issued_date) as last_issued_date
    from known_invoices
    group by 1, 2

)

select
    grid.account_id,
    grid.as_of_date,
    case when invoices_provided.has_invoices then coalesce(spend.amount_paid_90d_usd, 0) end as amount_paid_90d_usd,
    case when invoices_provided.has_invoices then coalesce(spend.amount_paid_365d_usd, 0) end as amount_paid_365d_usd,
    case when invoices_provided.has_invoices then coalesce(spend.invoices_paid_365d, 0) end as invoices_paid_365d,
    cast(
        {{ dbt.datediff('spend.last_issued_date', 'grid.as_of_date', 'day') }}
        as {{ dbt.type_int() }}
    ) as days_since_last_invoice

from grid
cross join invoices_provided
left join spend
    on grid.account_id = spend.account_id
    and grid.as_of_date = spend.as_of_date
