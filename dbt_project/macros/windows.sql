{# Sum of `column` over the trailing `days` rows ending on the current row, per account.
   Exact day windows when the relation has exactly one row per account and day (dense). #}
{% macro trailing_sum(column, days, partition_by='account_id', order_by='activity_date') -%}
    sum({{ column }}) over (
        partition by {{ partition_by }} order by {{ order_by }} rows between {{ days - 1 }} preceding and current row
    )
{%- endmacro %}
