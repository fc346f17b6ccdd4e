-- Labels must be NULL exactly when the label window (as_of_date, as_of_date + horizon] reaches
-- past the observation end date. A label computed from a partly observed window would read
-- "did not churn" for accounts whose churn simply has not happened yet, and the model would
-- learn that recent snapshots are safe. Conversely, an uncensored row must carry labels.
with

labels as (

    select * from {{ ref('fct_account_labels_weekly') }}

),

observation_period as (

    select observation_end_date from {{ ref('int_observation_period') }}

)

select labels.*
from labels
cross join observation_period
where
    labels.is_censored <> (labels.label_window_end_date > observation_period.observation_end_date)
    or (labels.is_censored and (labels.churned_within_90d is not null or labels.expanded_within_90d is not null))
    or (not labels.is_censored and labels.churned_within_90d is null)
