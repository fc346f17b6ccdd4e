-- seat_utilization_30d = active_users_30d / seats is a non-negative ratio, defined exactly when
-- the account has licensed seats. A division by zero, a negative value or a value without seats
-- would be a bug in the feature SQL and would mislead the model and the CSM driver sentences.
-- (It may exceed 1: more active users than licensed seats is a real expansion signal.)
select
    account_id,
    as_of_date,
    active_users_30d,
    seats,
    seat_utilization_30d
from {{ ref('fct_account_features_weekly') }}
where
    seat_utilization_30d < 0
    or (seats > 0 and seat_utilization_30d is null)
    or ((seats is null or seats = 0) and seat_utilization_30d is not null)
    or (seats > 0 and abs(seat_utilization_30d * seats - active_users_30d) > 1e-6)
