-- loyalty_summary: one row for as_of.
with settings as (
    select
        as_of
    from pipeline_settings
),

customers as (
    select
        customer_id,
        acquisition_source
    from int_customers
),

buyers as (
    select
        customer_id,
        purchases,
        is_active
    from int_customer_purchases
),

engagement as (
    select
        customer_id,
        helped_12m
    from int_customer_engagement
),

customer_facts as (
    select
        customers.customer_id,
        coalesce(buyers.purchases, 0) as purchases,
        coalesce(buyers.is_active, false) as is_active,
        coalesce(customers.acquisition_source = 'referral', false) as is_referred,
        engagement.helped_12m
    from customers
    inner join engagement
        on customers.customer_id = engagement.customer_id
    left join buyers
        on customers.customer_id = buyers.customer_id
),

totals as (
    select
        count(case when purchases >= 1 then 1 end) as customers,
        count(case when purchases >= 2 then 1 end) as repeat_customers,
        count(case when purchases >= 5 then 1 end) as loyal_customers,
        count(case when is_active then 1 end) as active_customers,
        count(case when helped_12m then 1 end) as helped_customers_12m,
        count(case when helped_12m and (purchases >= 2 or is_referred) then 1 end)
        as helped_returning_customers_12m
    from customer_facts
)

select
    settings.as_of,
    totals.customers,
    totals.repeat_customers,
    cast(totals.repeat_customers as double) / nullif(totals.customers, 0) as repeat_rate,
    totals.loyal_customers,
    cast(totals.loyal_customers as double) / nullif(totals.customers, 0) as loyal_share,
    totals.active_customers,
    totals.helped_customers_12m,
    cast(totals.helped_returning_customers_12m as double)
    / nullif(totals.helped_customers_12m, 0) as ror
from settings
cross join totals
