{#-
    The company's own event names that get features of their own: the `event_name_top_k`
    names with the most events in the warm-up period (the events known at the end of the
    earliest as_of_date, int_observation_period.warmup_end_date), ties broken by name. Choosing
    them from data that precedes every snapshot means no snapshot's feature set depends on
    later events. Each name gets a stable, SQL-safe slug (macro slugify; a slug that two names
    share gets the rank appended) for the feature names evt_<slug>_count_30d and
    evt_<slug>_trend_30d.

    Kept between full builds (incremental with no new rows): the daily counts of
    int_account_daily_activity are stored per vocabulary rank, so the vocabulary changes only
    when everything is rebuilt (`dbt build --full-refresh`, the full_refresh job, which also
    retrains the models on the new feature set).
-#}
{%- set top_k = event_name_top_k() -%}

with

observation_period as (

    select * from {{ ref('int_observation_period') }}

),

events as (

    select
        events.event_name,
        events.occurred_at
    from {{ ref('stg_product__events') }} as events
    cross join observation_period
    where events.event_name is not null
        and events.event_name <> ''
        and events.occurred_at < {{ end_of_day_bound('observation_period.warmup_end_date') }}

),

volumes as (

    select
        event_name,
        count(*) as selection_events
    from events
    group by event_name

),

ranked as (

    select
        event_name,
        selection_events,
        row_number() over (order by selection_events desc, event_name asc) as vocabulary_rank,
        coalesce(nullif({{ slugify('event_name') }}, ''), 'event') as base_slug
    from volumes

),

top_names as (

    select
        *,
        row_number() over (partition by base_slug order by vocabulary_rank) as slug_number
    from ranked
    where vocabulary_rank <= {{ top_k }}

)

select
    cast(vocabulary_rank as {{ dbt.type_int() }}) as vocabulary_rank,
    event_name,
    case
        when slug_number = 1 then base_slug
        else {{ dbt.concat(['base_slug', "'_'", 'cast(vocabulary_rank as ' ~ dbt.type_string() ~ ')']) }}
    end as event_name_slug,
    selection_events

from top_names
{% if is_incremental() -%}
-- kept as built: an incremental run adds nothing
where false
{%- endif %}
