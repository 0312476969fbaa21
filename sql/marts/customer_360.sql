-- customer_360: one row per customer, with or without purchases. A customer without purchases
-- has purchases 0 and revenue 0, NULL purchase dates, tier, segment and scores, and is neither
-- active nor churned. Counts with no events are 0; averages, rates and day counts with nothing
-- to measure are NULL. No raw e-mail, name or phone: only email_sha256.
with customers as (
    select
        customer_id,
        email_sha256,
        country,
        language,
        acquisition_source,
        created_at
    from int_customers
),

buyers as (
    select
        customer_id,
        first_purchase_at,
        last_purchase_at,
        purchases,
        revenue,
        recency_days,
        r_score,
        f_score,
        m_score,
        rfm_segment,
        loyalty_tier,
        is_active
    from int_customer_purchases
),

engagement as (
    select
        customer_id,
        tickets_12m,
        last_nps,
        last_csat,
        avg_ces_12m,
        emails_delivered_90d,
        opens_90d,
        clicks_90d,
        open_rate_90d,
        is_unsubscribed,
        mentions_12m,
        negative_mentions_12m,
        channels_engaged_12m,
        dissatisfied_90d,
        silent_dissatisfied_90d
    from int_customer_engagement
)

select
    customers.customer_id,
    customers.email_sha256,
    customers.country,
    customers.language,
    customers.acquisition_source,
    customers.created_at,
    buyers.first_purchase_at,
    buyers.last_purchase_at,
    coalesce(buyers.purchases, 0) as purchases,
    coalesce(buyers.revenue, 0) as revenue,
    buyers.loyalty_tier,
    buyers.rfm_segment,
    buyers.r_score,
    buyers.f_score,
    buyers.m_score,
    coalesce(buyers.is_active, false) as is_active,
    coalesce(not buyers.is_active, false) as is_churned,
    buyers.recency_days as days_since_last_purchase,
    engagement.tickets_12m,
    engagement.last_nps,
    engagement.last_csat,
    engagement.avg_ces_12m,
    engagement.emails_delivered_90d,
    engagement.opens_90d,
    engagement.clicks_90d,
    engagement.open_rate_90d,
    engagement.is_unsubscribed,
    engagement.mentions_12m,
    engagement.negative_mentions_12m,
    engagement.channels_engaged_12m,
    engagement.dissatisfied_90d,
    engagement.silent_dissatisfied_90d
from customers
inner join engagement
    on customers.customer_id = engagement.customer_id
left join buyers
    on customers.customer_id = buyers.customer_id
order by customers.customer_id
