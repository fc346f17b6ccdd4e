{#
    deduplicate(relation, partition_by, order_by): one row per key of `relation` (a CTE name or
    a relation), the first one in `order_by` order. Every staging model removes its duplicated
    primary keys with it (the raw-data SLA lets up to 1 % through).

    - partition_by: the key, a column name or a list of column names; never NULL (staging models
      drop rows without a primary key before they deduplicate).
    - order_by: what decides which row of a key wins: an ORDER BY list, as a string or a list of
      its items, e.g. ['updated_at desc nulls last', 'account_name asc'].

    The result has every column of `relation` plus a helper column `row_num` (always 1), which
    the model's final select leaves out (dropping a column by name is not portable SQL).

    Almost every key is unique, so only the rows of duplicated keys go through the (costly)
    window: the events, by far the biggest table, are deduplicated without numbering every row.
#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    {%- set keys = [partition_by] if partition_by is string else partition_by -%}
    {%- set order_by = order_by if order_by is string else order_by | join(', ') -%}
    {%- set join_condition -%}
        {%- for key in keys -%}
            deduplicate_input.{{ key }} = duplicated_keys.duplicated_key_{{ loop.index }}{{ " and " if not loop.last }}
        {%- endfor -%}
    {%- endset -%}
    with duplicated_keys as (

        select
            {%- for key in keys %}
            {{ key }} as duplicated_key_{{ loop.index }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ relation }}
        group by {% for key in keys %}{{ key }}{{ ", " if not loop.last }}{% endfor %}
        having count(*) > 1

    ),

    numbered as (

        select
            deduplicate_input.*,
            1 as row_num
        from {{ relation }} as deduplicate_input
        left join duplicated_keys on {{ join_condition }}
        where duplicated_keys.duplicated_key_1 is null

        union all

        select
            deduplicate_input.*,
            row_number() over (
                partition by {% for key in keys %}deduplicate_input.{{ key }}{{ ", " if not loop.last }}{% endfor %}
                order by {{ order_by }}
            ) as row_num
        from {{ relation }} as deduplicate_input
        inner join duplicated_keys on {{ join_condition }}

    )

    select * from numbered
    where row_num = 1
{%- endmacro %}
