{#-
    The invoices as billed, for point-in-time snapshots: 'void' invoices left out, a missing due
    date read as the issue date, and a 'paid' invoice without paid_at counted as paid on its due
    date (the extraction-time status is used for nothing else: it would leak the future).
    amount_paid_usd falls back to the amount due (then 0) when the export has no paid amount.
-#}
{% macro invoices_as_billed() %}
    select
        account_id,
        invoice_id,
        amount_due_usd,
        coalesce(amount_paid_usd, amount_due_usd, 0) as amount_paid_usd,
        issued_at,
        coalesce(due_at, issued_at) as due_at,
        coalesce(
            paid_at,
            case when invoice_status = 'paid' then coalesce(due_at, issued_at) end
        ) as paid_at
    from {{ ref('stg_billing__invoices') }}
    where issued_at is not null
        and coalesce(invoice_status, '') <> 'void'
{% endmacro %}
