{#-
    One row per account and as_of_date of the observation grid: NPS answers known at the end
    of as_of_date (responded before the next midnight). Scores are NULL when the account has
    no answer in the window; every column is NULL when the company provides no NPS data.
-#}
with

grid as (

    select
        account_id,
        as_of_date
    from {{ ref('int_account_weeks') }}

),

nps_provided as (

    select count(*) > 0 as has_nps from {{ ref('stg_feedback__nps_responses') }}

),

responses as (

    select * from {{ ref('stg_feedback__nps_responses') }}
    where responded_at is not null
        and nps_score is not null

),

responses_at_snapshot as (

    select
        grid.account_id,
        grid.as_of_date,
        responses.nps_score,
        responses.nps_category,
        {{ to_date('responses.responded_at') }} as responded_date,
        row_number() over (
            partition by grid.account_id, grid.as_of_date
            order by responses.responded_at desc, responses.response_id desc
        ) as recency_rank
    from grid
    inner join responses
        on grid.account_id = responses.account_id
        and responses.responded_at < {{ end_of_day_bound('grid.as_of_date') }}

),

nps_features as (

    select
        account_id,
        as_of_date,
        max(case when recency_rank = 1 then nps_score end) as nps_latest_score,
        max(case when recency_rank = 2 then nps_score end) as nps_previous_score,
        max(responded_date) as last_responded_date,
        sum(case when responded_date >= {{ add_days(-179, 'as_of_date') }} then 1 else 0 end) as nps_responses_180d,
        avg(case when responded_date >= {{ add_days(-179, 'as_of_date') }} then nps_score end) as nps_avg_score_180d,
        sum(case
            when responded_date >= {{ add_days(-179, 'as_of_date') }} and nps_category = 'detractor' then 1 else 0
        end) as detractors_180d,
        sum(case
            when responded_date >= {{ add_days(-179, 'as_of_date') }} and nps_category = 'promoter' then 1 else 0
        end) as promoters_180d
    from responses_at_snapshot
    group by 1, 2

)

select
    grid.account_id,
    grid.as_of_date,
    nps_features.nps_latest_score,
    nps_features.nps_latest_score - nps_features.nps_previous_score as nps_score_change,
    nps_features.nps_avg_score_180d,
    case when nps_provided.has_nps then coalesce(nps_features.nps_responses_180d, 0) end as nps_responses_180d,
    {{ safe_divide('nps_features.detractors_180d', 'nps_features.nps_responses_180d') }} as nps_detractor_share_180d,
    100 * {{ safe_divide(
        'nps_features.promoters_180d - nps_features.detractors_180d', 'nps_features.nps_responses_180d'
    ) }} as nps_180d,
    {{ dbt.datediff('nps_features.last_responded_date', 'grid.as_of_date', 'day') }}
        as days_since_last_nps

from grid
cross join nps_provided
left join nps_features
    on grid.account_id = nps_features.account_id
    and grid.as_of_date = nps_features.as_of_date
