{#
    Data tests of the incremental models look at the days the run rebuilt.

    A daily run rebuilds a few days of the events and of the per-day models derived from them; their
    tests (unique keys, not null, relationships, ranges) then check those days, not the whole
    history again, which a full refresh checked and the run did not change. Other models, and every
    model in a full refresh or a dbt run without a refresh date, are tested whole.

    dbt wraps the model of every generic test in `get_where_subquery` (this project's version
    replaces dbt's): it applies the test's own `where` config, and for an incremental model during
    an incremental run, `<refresh_column> >= <first rebuilt day>` (macros/incremental.sql).
#}

{% macro get_where_subquery(relation) -%}
    {%- set conditions = [config.get('where', ''), incremental_test_window(relation)] | select | list -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where ({{ conditions | join(') and (') }})) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{# `<refresh_column> >= <first rebuilt day>` when `relation` is an incremental model being refreshed, else ''. #}
{% macro incremental_test_window(relation) -%}
    {%- if not execute or flags.FULL_REFRESH -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set start = var('refresh_start_date', none) or env_var('AHW_REFRESH_START_DATE', '') -%}
    {%- if not start -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.config.materialized == 'incremental'
              and node.config.get('refresh_column')
              and (node.alias | lower) == (relation.identifier | lower)
              and (node.schema | lower) == (relation.schema | lower) -%}
            {%- do return(node.config.refresh_column ~ ' >= ' ~ refresh_from_date(node.config.refresh_column)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return('') -%}
{%- endmacro %}
