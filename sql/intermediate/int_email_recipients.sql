-- One row per (campaign, recipient e-mail) with the recipient's events on or before as_of.
-- Delivered (email_monthly): a delivered event; for a campaign with no delivered event at all,
-- a sent event and no bounce (then delivered_at is the last sent event).
with events as (
    select
        customer_id,
        email,
        campaign_id,
        event_type,
        occurred_at
    from int_email_events
),

campaigns as (
    select
        campaign_id,
        has_delivered_events
    from int_email_campaigns
),

recipients as (
    select
        campaign_id,
        email,
        max(customer_id) as customer_id,
        min(case when event_type = 'sent' then occurred_at end) as first_sent_at,
        max(case when event_type = 'sent' then occurred_at end) as last_sent_at,
        max(case when event_type = 'delivered' then occurred_at end) as last_delivered_event_at,
        count(case when event_type = 'bounce' then 1 end) > 0 as is_bounced,
        max(case when event_type = 'open' then occurred_at end) as last_open_at,
        max(case when event_type = 'click' then occurred_at end) as last_click_at,
        max(case when event_type = 'unsubscribe' then occurred_at end) as last_unsubscribe_at,
        max(case when event_type = 'spam_complaint' then occurred_at end) as last_spam_complaint_at
    from events
    group by
        campaign_id,
        email
),

delivery as (
    select
        recipients.*,
        campaigns.has_delivered_events,
        case
            when campaigns.has_delivered_events then recipients.last_delivered_event_at
            when not recipients.is_bounced then recipients.last_sent_at
        end as delivered_at
    from recipients
    inner join campaigns
        on recipients.campaign_id = campaigns.campaign_id
)

select
    campaign_id,
    email,
    customer_id,
    first_sent_at,
    cast(date_trunc('month', first_sent_at) as date) as sent_month,
    has_delivered_events as campaign_has_delivered_events,
    delivered_at is not null as is_delivered,
    delivered_at,
    is_bounced,
    last_open_at is not null as has_opened,
    last_open_at,
    last_click_at is not null as has_clicked,
    last_click_at,
    last_unsubscribe_at is not null as has_unsubscribed,
    last_spam_complaint_at is not null as has_complained
from delivery
