-- channel_retention: always five rows, channels_engaged 0 to 4, over customers with at least one
-- qualifying purchase. Channels in (as_of - 365 days, as_of]: e-mail (an open or click), social
-- (a linked mention), support (a ticket), survey (a response).
with channel_counts as (
    select
        channels_engaged
    from (values (0), (1), (2), (3), (4)) as spine (channels_engaged) -- noqa: AL05
),

buyers as (
    select
        customer_id,
        is_active
    from int_customer_purchases
),

engagement as (
    select
        customer_id,
        channels_engaged_12m
    from int_customer_engagement
),

per_count as (
    select
        engagement.channels_engaged_12m as channels_engaged,
        count(*) as customers,
        count(case when buyers.is_active then 1 end) as active_customers
    from buyers
    inner join engagement
        on buyers.customer_id = engagement.customer_id
    group by engagement.channels_engaged_12m
)

select
    channel_counts.channels_engaged,
    coalesce(per_count.customers, 0) as customers,
    coalesce(per_count.active_customers, 0) as active_customers,
    cast(per_count.active_customers as double) / nullif(per_count.customers, 0) as active_rate
from channel_counts
left join per_count
    on channel_counts.channels_engaged = per_count.channels_engaged
order by channel_counts.channels_engaged
