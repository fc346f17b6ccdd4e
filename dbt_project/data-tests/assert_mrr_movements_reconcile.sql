-- Every month's movements must add up: starting + new + expansion + contraction + churn +
-- reactivation = ending, and each month starts where the previous one ended. NRR, GRR and the
-- MRR bridge in mart_business_kpis are sums of these columns and would silently drift otherwise.
with

movements as (

    select
        *,
        lag(ending_mrr_usd) over (partition by account_id order by month_start_date) as previous_ending_mrr_usd,
        lag(month_start_date) over (partition by account_id order by month_start_date) as previous_month_start_date
    from {{ ref('fct_mrr_movements') }}

)

select *
from movements
where
    abs(
        starting_mrr_usd + new_mrr_usd + expansion_mrr_usd + contraction_mrr_usd + churn_mrr_usd
        + reactivation_mrr_usd - ending_mrr_usd
    ) > 0.005
    or (
        previous_month_start_date = cast({{ dbt.dateadd('month', -1, 'month_start_date') }} as date)
        and abs(previous_ending_mrr_usd - starting_mrr_usd) > 0.005
    )
