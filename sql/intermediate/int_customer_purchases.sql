-- One row per customer with at least one qualifying purchase on or before as_of: purchase
-- facts, RFM scores and segment, loyalty tier and whether active on as_of.
-- Portability: ntile (standard window function).
with settings as (
    select
        as_of,
        churn_days
    from pipeline_settings
),

purchases as (
    select
        customer_id,
        ordered_at,
        net_amount
    from int_purchases
),

per_customer as (
    select
        customer_id,
        min(ordered_at) as first_purchase_at,
        max(ordered_at) as last_purchase_at,
        count(*) as purchases,
        sum(net_amount) as revenue
    from purchases
    group by customer_id
),

measured as (
    select
        per_customer.*,
        date_diff('day', cast(per_customer.last_purchase_at as date), settings.as_of)
        as recency_days,
        date_diff('day', cast(per_customer.first_purchase_at as date), settings.as_of)
        as tenure_days,
        date_diff('day', cast(per_customer.last_purchase_at as date), settings.as_of)
        < settings.churn_days as is_active
    from per_customer
    cross join settings
),

scored as (
    select
        *,
        ntile(5) over (order by recency_days desc, customer_id) as r_score, -- noqa: AM03
        ntile(5) over (order by purchases, customer_id) as f_score,
        ntile(5) over (order by revenue, customer_id) as m_score
    from measured
)

select
    customer_id,
    first_purchase_at,
    last_purchase_at,
    purchases,
    revenue,
    cast(revenue as double) / purchases as avg_order_value,
    recency_days,
    tenure_days,
    r_score,
    f_score,
    m_score,
    -- the grid of metrics.md, row by row (r_score), column by column (f_score)
    case r_score
        when 5 then case f_score
            when 1 then 'New Customers'
            when 2 then 'Potential Loyalists'
            when 3 then 'Loyal'
            else 'Champions'
        end
        when 4 then case f_score
            when 1 then 'Promising'
            when 2 then 'Potential Loyalists'
            when 3 then 'Loyal'
            else 'Champions'
        end
        when 3 then case
            when f_score <= 2 then 'Potential Loyalists'
            else 'Loyal'
        end
        when 2 then case
            when f_score <= 2 then 'Hibernating'
            else 'At Risk'
        end
        else case
            when f_score <= 2 then 'Lost'
            when f_score = 3 then 'At Risk'
            else 'Can''t Lose Them'
        end
    end as rfm_segment,
    case
        when purchases >= 5 then 'loyal'
        when purchases >= 2 then 'repeat'
        else 'new'
    end as loyalty_tier,
    is_active
from scored
