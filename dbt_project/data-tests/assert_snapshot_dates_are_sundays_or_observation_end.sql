-- The grid is weekly: every as_of_date is a Sunday or the observation end date (the current
-- snapshot), and never after it. The ML code matches Sunday snapshots to the simulator's
-- Monday-keyed ground truth and scores the newest date; any other date breaks both.
with

snapshots as (

    select distinct
        as_of_date,
        is_current_snapshot
    from {{ ref('fct_account_features_weekly') }}

),

observation_period as (

    select observation_end_date from {{ ref('int_observation_period') }}

)

select snapshots.*
from snapshots
cross join observation_period
where
    snapshots.as_of_date > observation_period.observation_end_date
    or (snapshots.as_of_date <> observation_period.observation_end_date and not {{ is_sunday('snapshots.as_of_date') }})
    or (snapshots.is_current_snapshot <> (snapshots.as_of_date = observation_period.observation_end_date))
