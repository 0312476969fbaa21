-- loyalty_customers: one row per customer with at least one qualifying purchase on or before as_of.
with buyers as (
    select
        customer_id,
        first_purchase_at,
        last_purchase_at,
        purchases,
        revenue,
        avg_order_value,
        recency_days,
        tenure_days,
        r_score,
        f_score,
        m_score,
        rfm_segment,
        loyalty_tier,
        is_active
    from int_customer_purchases
),

customers as (
    select
        customer_id,
        email_sha256,
        acquisition_source
    from int_customers
),

engagement as (
    select
        customer_id,
        helped_12m
    from int_customer_engagement
)

select
    buyers.customer_id,
    customers.email_sha256,
    buyers.first_purchase_at,
    buyers.last_purchase_at,
    buyers.purchases,
    buyers.revenue,
    buyers.avg_order_value,
    buyers.recency_days,
    buyers.tenure_days,
    buyers.r_score,
    buyers.f_score,
    buyers.m_score,
    buyers.rfm_segment,
    buyers.loyalty_tier,
    coalesce(customers.acquisition_source = 'referral', false) as is_referred,
    engagement.helped_12m,
    buyers.is_active
from buyers
inner join customers
    on buyers.customer_id = customers.customer_id
inner join engagement
    on buyers.customer_id = engagement.customer_id
order by buyers.customer_id
