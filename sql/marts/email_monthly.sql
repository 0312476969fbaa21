-- email_monthly: one row per (month, campaign_id) with at least one recipient. A recipient's
-- events for a campaign count in the month of their first 'sent' event for it; recipients with
-- no 'sent' event are left out. campaign_name is the campaign's most frequent non-empty name
-- over its events on or before as_of (ties: the alphabetically first).
with recipients as (
    select
        campaign_id,
        email,
        sent_month,
        campaign_has_delivered_events,
        is_delivered,
        is_bounced,
        has_opened,
        has_clicked,
        has_unsubscribed,
        has_complained
    from int_email_recipients
    where first_sent_at is not null
),

names as (
    select
        campaign_id,
        campaign_name,
        count(*) as uses
    from int_email_events
    where campaign_name is not null
    group by
        campaign_id,
        campaign_name
),

campaign_names as (
    select
        campaign_id,
        campaign_name,
        row_number() over (
            partition by campaign_id
            order by uses desc, campaign_name -- noqa: AM03
        ) as name_rank
    from names
),

monthly as (
    select
        sent_month as month,
        campaign_id,
        count(*) as sent,
        count(case when is_delivered then 1 end) as delivered,
        count(case when is_bounced then 1 end) as bounced,
        count(case when has_opened then 1 end) as unique_opens,
        count(case when has_clicked then 1 end) as unique_clicks,
        count(case when has_unsubscribed then 1 end) as unsubscribes,
        count(case when has_complained then 1 end) as spam_complaints
    from recipients
    group by
        sent_month,
        campaign_id
)

select
    monthly.month,
    monthly.campaign_id,
    campaign_names.campaign_name,
    monthly.sent,
    monthly.delivered,
    monthly.bounced,
    monthly.unique_opens,
    monthly.unique_clicks,
    monthly.unsubscribes,
    monthly.spam_complaints,
    cast(monthly.unique_opens as double) / nullif(monthly.delivered, 0) as open_rate,
    cast(monthly.unique_clicks as double) / nullif(monthly.delivered, 0) as click_rate,
    cast(monthly.unsubscribes as double) / nullif(monthly.delivered, 0) as unsubscribe_rate
from monthly
left join campaign_names
    on monthly.campaign_id = campaign_names.campaign_id
    and campaign_names.name_rank = 1
order by
    monthly.month,
    monthly.campaign_id
