-- cohort_retention: one row per (cohort month, months since first purchase) up to the as_of month.
with months as (
    select
        month
    from int_months
),

purchases as (
    select
        customer_id,
        order_month
    from int_purchases
),

cohort_members as (
    select
        customer_id,
        min(order_month) as cohort_month
    from purchases
    group by customer_id
),

cohorts as (
    select
        cohort_month,
        count(*) as cohort_size
    from cohort_members
    group by cohort_month
),

cohort_months as (
    select
        cohorts.cohort_month,
        cohorts.cohort_size,
        months.month,
        (year(months.month) - year(cohorts.cohort_month)) * 12
        + month(months.month) - month(cohorts.cohort_month) as months_since_first
    from cohorts
    inner join months
        on months.month >= cohorts.cohort_month
),

buying_months as (
    select distinct
        customer_id,
        order_month
    from purchases
),

retained as (
    select
        cohort_members.cohort_month,
        buying_months.order_month as month,
        count(*) as retained_customers
    from cohort_members
    inner join buying_months
        on cohort_members.customer_id = buying_months.customer_id
    group by
        cohort_members.cohort_month,
        buying_months.order_month
)

select
    cohort_months.cohort_month,
    cohort_months.months_since_first,
    cohort_months.cohort_size,
    coalesce(retained.retained_customers, 0) as retained_customers,
    cast(coalesce(retained.retained_customers, 0) as double)
    / cohort_months.cohort_size as retention_rate
from cohort_months
left join retained
    on cohort_months.cohort_month = retained.cohort_month
    and cohort_months.month = retained.month
order by
    cohort_months.cohort_month,
    cohort_months.months_since_first
