-- One row per account: firmographics and the employee size band.
with

accounts as (

    select * from {{ ref('stg_product__accounts') }}

)

select
    account_id,
    account_name,
    industry,
    employee_count,
    case
        when employee_count is null then 'unknown'
        when employee_count < 50 then '1-49'
        when employee_count < 250 then '50-249'
        when employee_count < 1000 then '250-999'
        else '1000+'
    end as size_band,
    region,
    csm_owner_id,
    created_at,
    {{ to_date('created_at') }} as created_date

from accounts
where created_at is not null
