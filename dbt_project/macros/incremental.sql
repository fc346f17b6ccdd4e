{#
    Incremental models for append-only data: the events and everything derived from them per
    account-day. An incremental run rebuilds every day from its refresh date on and keeps the days
    before it; `dbt build --full-refresh` (or the first build) builds everything.

    Refresh date = the `refresh_start_date` var, else the AHW_REFRESH_START_DATE environment
    variable (Dagster sets it to the first day of the partition range it runs; read only when dbt
    executes, so a new date does not invalidate dbt's partial parse), else the newest day already
    in the model; minus `lookback_days`, so events that arrive up to lookback_days late are counted.
    Models whose values depend on earlier days read `history_days` more of their input (e.g. 90
    for 90-day windows), never less.
#}

{# The first day an incremental run rebuilds, as a SQL date literal. #}
{% macro refresh_from_date(date_column) -%}
    {%- set start = var('refresh_start_date', none) -%}
    {%- if not start and execute -%}
        {%- set start = env_var('AHW_REFRESH_START_DATE', '') -%}
    {%- endif -%}
    {%- if not start and execute -%}
        {%- set newest = run_query('select cast(max(' ~ date_column ~ ') as date) from ' ~ this) -%}
        {%- set start = newest.columns[0].values()[0] -%}
    {%- endif -%}
    {%- if start -%}
        {%- set day = modules.datetime.date.fromisoformat((start | string)[:10])
            - modules.datetime.timedelta(days=var('lookback_days') | int) -%}
    {%- else -%}
        {#- at parse time, or on an empty model: everything -#}
        {%- set day = modules.datetime.date(1900, 1, 1) -%}
    {%- endif -%}
    cast('{{ day.isoformat() }}' as date)
{%- endmacro %}

{# The first day of input an incremental model reads: the refresh date minus `history_days`. #}
{% macro refresh_input_from_date(date_column, history_days) -%}
    {{ add_days(-1 * history_days, refresh_from_date(date_column)) }}
{%- endmacro %}

{# Strategy `replace_days`: delete the model's rows from the refresh date on, insert the rebuilt
   ones. The date column is the model's `refresh_column` config. Unlike delete+insert on a key,
   a day that no longer has rows (all its events re-delivered as duplicates, say) is emptied. #}
{% macro get_incremental_replace_days_sql(arg_dict) -%}
    {%- set column = config.get('refresh_column') -%}
    {%- if not column -%}
        {{ exceptions.raise_compiler_error("model " ~ this ~ " uses incremental_strategy 'replace_days' without a refresh_column config: set it to the model's date or timestamp column") }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ column }} >= {{ refresh_from_date(column) }};

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
