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

{# A SQL-safe, lower-case identifier part from a text expression: runs of anything but a-z and
   0-9 become one underscore, leading and trailing underscores go, at most 40 characters
   (e.g. 'Opportunity Won!' -> 'opportunity_won'). #}
{% macro slugify(expression) -%}
    {{ return(adapter.dispatch('slugify', 'account_health')(expression)) }}
{%- endmacro %}

{% macro default__slugify(expression) -%}
    substring(trim(both '_' from regexp_replace(lower({{ expression }}), '[^a-z0-9]+', '_', 'g')), 1, 40)
{%- endmacro %}

{% macro spark__slugify(expression) -%}
    substring(trim(both '_' from regexp_replace(lower({{ expression }}), '[^a-z0-9]+', '_')), 1, 40)
{%- endmacro %}

{# The number of event names that get features of their own (the `event_name_top_k` var). #}
{% macro event_name_top_k() -%}
    {%- set k = var('event_name_top_k') | int -%}
    {%- if k < 0 or k > 99 -%}
        {{ exceptions.raise_compiler_error(
            "var event_name_top_k must be a whole number from 0 to 99, got '" ~ var('event_name_top_k') ~ "'. "
            ~ "Set it in dbt_project.yml or with --vars '{event_name_top_k: 20}'.") }}
    {%- endif -%}
    {{ return(k) }}
{%- endmacro %}

{# Name of the int_account_daily_activity / int_account_activity_rolling column of the
   vocabulary name ranked `rank` (1-based), e.g. 3 -> vocabulary_03_events. #}
{% macro vocabulary_column(rank) -%}
    vocabulary_{{ '%02d' | format(rank) }}_events
{%- endmacro %}

{# (rank, column) for every rank of the event-name vocabulary, 1 to event_name_top_k. #}
{% macro vocabulary_columns() -%}
    {%- set pairs = [] -%}
    {%- for rank in range(1, event_name_top_k() + 1) -%}
        {%- do pairs.append((rank, vocabulary_column(rank) | trim)) -%}
    {%- endfor -%}
    {{ return(pairs) }}
{%- endmacro %}

{# (running total column, daily column) for every rank of the event-name vocabulary, e.g.
   ('vocabulary_01_events_total', 'vocabulary_01_events'). #}
{% macro vocabulary_running_totals() -%}
    {%- set pairs = [] -%}
    {%- for rank, column in vocabulary_columns() -%}
        {%- do pairs.append((column ~ '_total', column)) -%}
    {%- endfor -%}
    {{ return(pairs) }}
{%- endmacro %}
