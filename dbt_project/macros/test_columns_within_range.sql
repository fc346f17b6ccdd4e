{#
    Generic model-level tests over many columns at once (e.g. the 60+ features of a snapshot
    mart): one query per rule instead of one test node per column, which keeps parsing and
    `dbt build` fast. Failing rows name the offending column.
#}

{# Every non-NULL value of every column in `columns` lies within [min_value, max_value]. #}
{% test columns_within_range(model, columns, min_value=none, max_value=none) %}

{% for column in columns %}
select
    '{{ column }}' as column_name,
    cast({{ column }} as {{ type_double() }}) as value
from {{ model }}
where {{ column }} is not null
    and (
        false
        {%- if min_value is not none %} or {{ column }} < {{ min_value }}{% endif %}
        {%- if max_value is not none %} or {{ column }} > {{ max_value }}{% endif %}
    )
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endtest %}

{# No column in `columns` is NULL. #}
{% test columns_not_null(model, columns) %}

{% for column in columns %}
select '{{ column }}' as column_name, count(*) as null_rows
from {{ model }}
where {{ column }} is null
having count(*) > 0
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endtest %}
