-- One row per campaign with events on or before as_of: whether any recipient has a delivered
-- event, which decides how int_email_recipients counts a delivery.
with events as (
    select
        campaign_id,
        event_type
    from int_email_events
)

select
    campaign_id,
    count(case when event_type = 'delivered' then 1 end) > 0 as has_delivered_events
from events
group by campaign_id
