{#
    spark__cast: dbt's cast() on Spark, which has no bare VARCHAR (it needs a length) and no TEXT;
    both are its STRING. The enforced contracts of the marts declare their column types once, in
    the spelling DuckDB and most warehouses share (varchar, double, integer, ...); dbt casts NULL to
    each declared type to check a contract, and this translation lets those checks run on Spark too.
#}
{% macro spark__cast(field, type) -%}
    {%- set normalized = type | trim | lower -%}
    cast({{ field }} as {{ 'string' if normalized in ('varchar', 'text') else type }})
{%- endmacro %}
