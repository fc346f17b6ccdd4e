{#
    pseudonymize(column): salted SHA-256 hex digest of a PII value, NULL stays NULL.

    The salt comes from AHW_PII_SALT. The prod targets (prod, spark_prod) require it; other targets fall back
    to the same non-secret development salt as dagster_project/settings.py, so local runs
    work without configuration. The same value always maps to the same digest within one
    deployment (joins still work), but digests cannot be reversed without the salt.
#}
{% macro pii_salt() -%}
    {%- if target.name in ('prod', 'spark_prod') -%}
        {%- set salt = env_var('AHW_PII_SALT', '') -%}
        {%- if not salt -%}
            {{ exceptions.raise_compiler_error(
                "AHW_PII_SALT is not set: the prod target hashes PII (emails, ticket subjects, NPS comments) "
                ~ "with a secret salt. Set AHW_PII_SALT in the environment (see .env.example), or use the dev target."
            ) }}
        {%- endif -%}
        {{ return(salt) }}
    {%- else -%}
        {{ return(env_var('AHW_PII_SALT', 'ahw-dev-salt-not-secret')) }}
    {%- endif -%}
{%- endmacro %}

{% macro pseudonymize(column) -%}
    {{ return(adapter.dispatch('pseudonymize', 'account_health')(column)) }}
{%- endmacro %}

{% macro default__pseudonymize(column) -%}
    case
        when {{ column }} is null then null
        else sha256({{ dbt.string_literal(pii_salt()) }} || cast({{ column }} as {{ dbt.type_string() }}))
    end
{%- endmacro %}

{% macro snowflake__pseudonymize(column) -%}
    case
        when {{ column }} is null then null
        else sha2({{ dbt.string_literal(pii_salt()) }} || cast({{ column }} as varchar), 256)
    end
{%- endmacro %}

{% macro spark__pseudonymize(column) -%}
    case
        when {{ column }} is null then null
        else sha2(concat({{ dbt.string_literal(pii_salt()) }}, cast({{ column }} as string)), 256)
    end
{%- endmacro %}

{% macro bigquery__pseudonymize(column) -%}
    case
        when {{ column }} is null then null
        else to_hex(sha256(concat({{ dbt.string_literal(pii_salt()) }}, cast({{ column }} as string))))
    end
{%- endmacro %}
