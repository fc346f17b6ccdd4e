{#
    Generic test: the combination of `combination_of_columns` is unique in the model
    (e.g. account_id + as_of_date for the weekly snapshots). Fails with one row per
    duplicated combination.
#}
{% test unique_combination(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
