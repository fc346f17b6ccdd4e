-- PII (user e-mails, ticket subjects, NPS comments) must leave staging only as salted SHA-256
-- digests (64 hex characters). A clear-text value here would be copied into every downstream
-- table and into the published marts (SPEC section 7, privacy).
select
    'stg_product__users.email_hash' as pii_column,
    email_hash as stored_value
from {{ ref('stg_product__users') }}
where email_hash is not null and (length(email_hash) <> 64 or email_hash like '%@%')

union all

select
    'stg_support__tickets.subject_hash' as pii_column,
    subject_hash as stored_value
from {{ ref('stg_support__tickets') }}
where subject_hash is not null and length(subject_hash) <> 64

union all

select
    'stg_feedback__nps_responses.comment_hash' as pii_column,
    comment_hash as stored_value
from {{ ref('stg_feedback__nps_responses') }}
where comment_hash is not null and length(comment_hash) <> 64
