{#-
    One row per account and calendar month in which the account had recognized MRR at the
    start or the end of the month: starting and ending MRR and the movement between them.
    Movements are net over the month (a change reverted within the month is no movement)
    and signed, so that
        starting + new + expansion + contraction + churn + reactivation = ending
    (contraction and churn are <= 0). new = first MRR ever; reactivation = MRR again after
    having had MRR before. The current month ends at the observation end date.
-#}
with

monthly as (

    select * from {{ ref('int_account_mrr_monthly') }}

),

with_history as (

    select
        account_id,
        month_start_date,
        month_end_date,
        is_partial_month,
        coalesce(
            lag(ending_mrr_usd) over (partition by account_id order by month_start_date), 0
        ) as starting_mrr_usd,
        ending_mrr_usd,
        coalesce(
            max(ending_mrr_usd) over (
                partition by account_id order by month_start_date
                rows between unbounded preceding and 1 preceding
            ), 0
        ) as previous_peak_mrr_usd
    from monthly

),

movements as (

    select
        *,
        case
            when starting_mrr_usd = 0 and ending_mrr_usd > 0 and previous_peak_mrr_usd = 0 then ending_mrr_usd else 0
        end as new_mrr_usd,
        case
            when starting_mrr_usd > 0 and ending_mrr_usd > starting_mrr_usd then ending_mrr_usd - starting_mrr_usd
            else 0
        end as expansion_mrr_usd,
        case
            when starting_mrr_usd > 0 and ending_mrr_usd > 0 and ending_mrr_usd < starting_mrr_usd
                then ending_mrr_usd - starting_mrr_usd
            else 0
        end as contraction_mrr_usd,
        case when starting_mrr_usd > 0 and ending_mrr_usd = 0 then -1 * starting_mrr_usd else 0 end as churn_mrr_usd,
        case
            when starting_mrr_usd = 0 and ending_mrr_usd > 0 and previous_peak_mrr_usd > 0 then ending_mrr_usd else 0
        end as reactivation_mrr_usd
    from with_history
    where starting_mrr_usd > 0 or ending_mrr_usd > 0

)

select
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(month_start_date as date) as month_start_date,
    cast(month_end_date as date) as month_end_date,
    cast(is_partial_month as boolean) as is_partial_month,
    cast(starting_mrr_usd as {{ type_double() }}) as starting_mrr_usd,
    cast(new_mrr_usd as {{ type_double() }}) as new_mrr_usd,
    cast(expansion_mrr_usd as {{ type_double() }}) as expansion_mrr_usd,
    cast(contraction_mrr_usd as {{ type_double() }}) as contraction_mrr_usd,
    cast(churn_mrr_usd as {{ type_double() }}) as churn_mrr_usd,
    cast(reactivation_mrr_usd as {{ type_double() }}) as reactivation_mrr_usd,
    cast(ending_mrr_usd as {{ type_double() }}) as ending_mrr_usd,
    cast(ending_mrr_usd - starting_mrr_usd as {{ type_double() }}) as net_mrr_change_usd,
    cast(case
        when new_mrr_usd > 0 then 'new'
        when reactivation_mrr_usd > 0 then 'reactivation'
        when expansion_mrr_usd > 0 then 'expansion'
        when contraction_mrr_usd < 0 then 'contraction'
        when churn_mrr_usd < 0 then 'churn'
        else 'unchanged'
    end as {{ dbt.type_string() }}) as movement_type

from movements
