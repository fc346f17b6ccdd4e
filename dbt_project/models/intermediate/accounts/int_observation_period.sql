-- The observed time span, from the product events (the only source every company has).
-- The newest event's date is the observation end: the "current" snapshot scored each morning.
with

events as (

    select occurred_at from {{ ref('stg_product__events') }}

),

bounds as (

    select
        {{ to_date('min(occurred_at)') }} as observation_start_date,
        {{ to_date('max(occurred_at)') }} as observation_end_date
    from events

)

select
    observation_start_date,
    observation_end_date,
    {{ add_days(var('observation_warmup_days'), 'observation_start_date') }} as warmup_end_date
from bounds
where observation_end_date is not null
