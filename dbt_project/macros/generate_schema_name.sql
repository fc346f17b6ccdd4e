{#
    Custom schemas are used as-is (staging, intermediate, marts) instead of dbt's default
    <target_schema>_<custom_schema>, so BI tools and Dagster see stable schema names.
    Models without a custom schema land in the target schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
