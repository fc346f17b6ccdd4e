{#
    Helpers around the `event_roles` var (dbt_project.yml): which of the company's event names
    play which role (login, core_action, error, ...).
#}

{# SQL list literal of the event names mapped to `role`, e.g. ('session_started'). #}
{% macro event_names_for_role(role) -%}
    {%- set roles = var('event_roles') -%}
    {%- if role not in roles -%}
        {{ exceptions.raise_compiler_error(
            "event_roles has no role '" ~ role ~ "'. Known roles: " ~ (roles.keys() | list | join(', '))
            ~ ". Add it to vars.event_roles in dbt_project.yml or pass it with --vars.") }}
    {%- endif -%}
    {%- set names = roles[role] or [] -%}
    {%- if names is string -%}{%- set names = [names] -%}{%- endif -%}
    {%- if names | length == 0 -%}
        (null)
    {%- else -%}
        ({%- for name in names -%}{{ dbt.string_literal(name | trim | lower) }}{{ ", " if not loop.last }}{%- endfor -%})
    {%- endif -%}
{%- endmacro %}

{# 1 when `event_name_column` plays `role`, else 0: sum() it to count role events. #}
{% macro is_event_role(role, event_name_column='event_name') -%}
    case when {{ event_name_column }} in {{ event_names_for_role(role) }} then 1 else 0 end
{%- endmacro %}
