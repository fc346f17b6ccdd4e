{#
    print_row_counts(): one line of JSON, {"<schema>.<relation>": rows} for every model of the
    project (tables, incremental models and views), counted by the warehouse itself. One dbt
    invocation counts them all, on any engine: the engine parity test compares the two lines
    (tests/e2e/engines), and `dbt run-operation print_row_counts` shows a build at a glance.
#}
{% macro print_row_counts() -%}
    {%- if execute -%}
        {%- set counts = {} -%}
        {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
            {%- if node.resource_type == 'model' and node.config.materialized != 'ephemeral' -%}
                {%- set relation = adapter.get_relation(node.database, node.schema, node.alias) -%}
                {%- if relation is not none -%}
                    {%- set result = run_query('select count(*) as n from ' ~ relation) -%}
                    {%- do counts.update({node.schema ~ '.' ~ node.alias: result.columns[0].values()[0] | int}) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
        {{ print('row_counts: ' ~ tojson(counts)) }}
    {%- endif -%}
{%- endmacro %}
