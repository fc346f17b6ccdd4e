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

{# Name of the column that counts the events of `role` (int_account_daily_activity has one per
   role of the var): the role with its noun in the plural, e.g. login -> logins,
   core_action -> core_actions, user_invited -> users_invited. integration_disconnected counts
   into integrations_removed, the name its features have always had. #}
{% macro event_role_column(role) -%}
    {%- if not modules.re.match('^[a-z][a-z0-9_]*$', role) -%}
        {{ exceptions.raise_compiler_error(
            "event_roles has a role named '" ~ role ~ "': a role names a column of int_account_daily_activity, "
            ~ "so use lower-case letters, digits and underscores (vars.event_roles in dbt_project.yml or --vars).") }}
    {%- endif -%}
    {%- set words = role.split('_') -%}
    {%- if role == 'integration_disconnected' -%}
        integrations_removed
    {%- elif words | length > 1 and words[-1].endswith('ed') -%}
        {#- <noun>_<past participle>: the noun is the first word -#}
        {{ words[0] ~ 's_' ~ words[1:] | join('_') }}
    {%- else -%}
        {{ role ~ 's' }}
    {%- endif -%}
{%- endmacro %}

{# (role, column) for every role of the `event_roles` var, in the var's order. #}
{% macro event_role_columns() -%}
    {%- set pairs = [] -%}
    {%- for role in var('event_roles') -%}
        {%- do pairs.append((role, event_role_column(role) | trim)) -%}
    {%- endfor -%}
    {{ return(pairs) }}
{%- endmacro %}

{# 1 when `event_name_column` is qualifying activity (the `qualifying_event_names` var; every
   event when that list is empty), else 0. Qualifying activity is what the activity and dormancy
   churn definitions and the recency features look at. #}
{% macro is_qualifying_event(event_name_column='event_name') -%}
    {%- set names = var('qualifying_event_names', []) or [] -%}
    {%- if names is string -%}{%- set names = [names] -%}{%- endif -%}
    {%- if names | length == 0 -%}
        1
    {%- else -%}
        case when {{ event_name_column }} in (
            {%- for name in names -%}{{ dbt.string_literal(name | trim | lower) }}{{ ", " if not loop.last }}{%- endfor -%}
        ) then 1 else 0 end
    {%- endif -%}
{%- endmacro %}
