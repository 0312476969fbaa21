-- E-mail events on or before as_of, linked by normalised e-mail to a customer. When customers
-- share an e-mail the events go to one: a contact first, then a key 'email:<e-mail>', then the
-- lowest other natural key.
with settings as (
    select
        as_of_end
    from pipeline_settings
),

events as (
    select
        event_id,
        email,
        campaign_id,
        campaign_name,
        event_type,
        occurred_at,
        url
    from stg_email_events
),

customers as (
    select
        customer_id,
        natural_key,
        is_contact,
        email
    from int_customers
    where email is not null
),

ranked_owners as (
    select
        email,
        customer_id,
        row_number() over (
            partition by email
            order by
                is_contact desc,
                natural_key = 'email:' || email desc,
                natural_key
        ) as owner_rank
    from customers
),

-- Filtered before the join, not in its condition: DuckDB then builds the hash table on the
-- owners (one per e-mail) instead of on the millions of events.
email_owners as (
    select
        email,
        customer_id
    from ranked_owners
    where owner_rank = 1
),

happened as (
    select
        events.*
    from events
    cross join settings
    where events.occurred_at < settings.as_of_end
)

select
    happened.event_id,
    email_owners.customer_id,
    happened.email,
    happened.campaign_id,
    happened.campaign_name,
    happened.event_type,
    happened.occurred_at,
    cast(happened.occurred_at as date) as occurred_date,
    cast(date_trunc('month', happened.occurred_at) as date) as occurred_month,
    happened.url
from happened
left join email_owners
    on happened.email = email_owners.email
