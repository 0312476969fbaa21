-- One row per customer (contracts.md "Identity → Who is a customer"): every contact that survived
-- the e-mail merge, plus every key outside the CRM with a qualifying purchase on or before as_of.
-- A customer outside the CRM takes the e-mail of its latest qualifying order that carries one.
-- email_sha256 is sha256(email) (contracts.md), or HMAC-SHA256 when the installation set
-- PIPELINE_EMAIL_HASH_KEY: pipeline_settings then holds RFC 2104's padded keys (email_hash.py).
with settings as (
    select
        email_hash_inner,
        email_hash_outer
    from pipeline_settings
),

contacts as (
    select
        contact_id,
        customer_contact_id,
        is_surviving,
        email,
        created_at,
        country,
        language,
        acquisition_source
    from int_contacts
),

-- Only orders outside the CRM are read (filtered here, not below): a delivery of contacts'
-- orders then leaves what this model reads of int_orders as it was (pipeline/engine/reads.py).
outside_qualifying_orders as (
    select
        order_id,
        natural_key,
        email,
        ordered_at
    from int_orders
    where is_qualifying and not is_contact
),

merge_counts as (
    select
        customer_contact_id,
        count(*) as merged_contacts
    from contacts
    group by customer_contact_id
),

contact_customers as (
    select
        'contact:' || contacts.contact_id as natural_key,
        true as is_contact,
        contacts.contact_id,
        contacts.email,
        contacts.created_at,
        contacts.country,
        contacts.language,
        contacts.acquisition_source,
        merge_counts.merged_contacts
    from contacts
    inner join merge_counts
        on contacts.contact_id = merge_counts.customer_contact_id
    where contacts.is_surviving
),

outside_orders as (
    select
        natural_key,
        email,
        row_number() over (
            partition by natural_key
            order by email is null, ordered_at desc, order_id desc
        ) as recency_rank
    from outside_qualifying_orders
),

outside_customers as (
    select
        natural_key,
        false as is_contact,
        case
            when natural_key like 'contact:%' then substr(natural_key, 9)
        end as contact_id,
        email,
        cast(null as timestamp) as created_at,
        cast(null as varchar) as country,
        cast(null as varchar) as language,
        cast(null as varchar) as acquisition_source,
        0 as merged_contacts
    from outside_orders
    where recency_rank = 1
),

customers as (
    select
        *
    from contact_customers
    union all
    select
        *
    from outside_customers
)

-- Unqualified columns are the customers' (settings' are qualified): sqlfluff RF02 off here.
-- noqa: disable=RF02
select
    substr(sha256(natural_key), 1, 16) as customer_id,
    natural_key,
    is_contact,
    contact_id,
    email,
    case
        when settings.email_hash_outer is null then sha256(email)
        else sha256(
            settings.email_hash_outer
            || unhex(sha256(settings.email_hash_inner || encode(email)))
        )
    end as email_sha256,
    created_at,
    country,
    language,
    acquisition_source,
    merged_contacts
from customers
cross join settings
-- noqa: enable=RF02
