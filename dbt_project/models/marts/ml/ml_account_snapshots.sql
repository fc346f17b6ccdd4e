{#-
    The single input of the ML code: one row per account and as_of_date, every feature of
    fct_account_features_weekly with the labels of fct_account_labels_weekly. Rows with
    is_censored = true have NULL labels: score them, never train on them.
-#}
with

features as (

    select * from {{ ref('fct_account_features_weekly') }}

),

labels as (

    select * from {{ ref('fct_account_labels_weekly') }}

)

select
    features.*,
    labels.is_censored,
    labels.churned_within_90d,
    labels.expanded_within_90d,
    labels.churn_date,
    labels.days_until_churn

from features
inner join labels
    on features.account_id = labels.account_id
    and features.as_of_date = labels.as_of_date
