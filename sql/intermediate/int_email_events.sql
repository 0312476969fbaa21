-- E-mail events on or before as_of, linked by normalised e-mail to the customer holding it
-- (int_email_owners).
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

email_owners as (
    select
        email,
        customer_id
    from int_email_owners
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
