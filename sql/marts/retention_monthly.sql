-- retention_monthly: one row per month from the first purchase month to the as_of month.
-- A customer is active on day D when their last qualifying purchase on or before D is within
-- churn_days: D - churn_days < last_purchase_date <= D, i.e. date_diff(last, D) < churn_days.
with settings as (
    select
        churn_days
    from pipeline_settings
),

months as (
    select
        month,
        period_end_date,
        is_complete
    from int_months
),

purchases as (
    select
        customer_id,
        ordered_date,
        order_month
    from int_purchases
),

first_purchase_months as (
    select
        customer_id,
        min(order_month) as first_purchase_month
    from purchases
    group by customer_id
),

last_purchase_in_month as (
    select
        customer_id,
        order_month as month,
        max(ordered_date) as last_purchase_date
    from purchases
    group by
        customer_id,
        order_month
),

-- every customer in every month from their first purchase month on
customer_months as (
    select
        first_purchase_months.customer_id,
        first_purchase_months.first_purchase_month,
        months.month,
        months.period_end_date
    from first_purchase_months
    inner join months
        on months.month >= first_purchase_months.first_purchase_month
),

last_purchases as (
    select
        customer_months.customer_id,
        customer_months.first_purchase_month,
        customer_months.month,
        customer_months.period_end_date,
        max(last_purchase_in_month.last_purchase_date) over (
            partition by customer_months.customer_id
            order by customer_months.month
            rows between unbounded preceding and 1 preceding
        ) as last_purchase_before_month,
        max(last_purchase_in_month.last_purchase_date) over (
            partition by customer_months.customer_id
            order by customer_months.month
            rows between unbounded preceding and current row
        ) as last_purchase_by_period_end
    from customer_months
    left join last_purchase_in_month
        on customer_months.customer_id = last_purchase_in_month.customer_id
        and customer_months.month = last_purchase_in_month.month
),

-- active on the day before the month starts: date_diff(last, month - 1) < churn_days,
-- written as date_diff(last, month) <= churn_days to avoid date arithmetic
customer_states as (
    select
        last_purchases.month,
        last_purchases.customer_id,
        coalesce(
            date_diff('day', last_purchases.last_purchase_before_month, last_purchases.month)
            <= settings.churn_days,
            false
        ) as is_active_at_start,
        last_purchases.first_purchase_month = last_purchases.month as is_new,
        date_diff(
            'day', last_purchases.last_purchase_by_period_end, last_purchases.period_end_date
        ) < settings.churn_days as is_active_at_end
    from last_purchases
    cross join settings
),

monthly as (
    select
        month,
        count(case when is_active_at_start then 1 end) as customers_start,
        count(case when is_new then 1 end) as new_customers,
        count(case when is_active_at_start and is_active_at_end then 1 end) as retained_customers,
        count(
            case when not is_active_at_start and not is_new and is_active_at_end then 1 end
        ) as reactivated_customers
    from customer_states
    group by month
),

first_month as (
    select
        min(first_purchase_month) as first_purchase_month
    from first_purchase_months
),

counts as (
    select
        months.month,
        months.is_complete,
        coalesce(monthly.customers_start, 0) as customers_start,
        coalesce(monthly.new_customers, 0) as new_customers,
        coalesce(monthly.retained_customers, 0) as retained_customers,
        coalesce(monthly.reactivated_customers, 0) as reactivated_customers
    from months
    inner join first_month
        on months.month >= first_month.first_purchase_month
    left join monthly
        on months.month = monthly.month
)

select
    month,
    is_complete,
    customers_start,
    new_customers,
    retained_customers,
    reactivated_customers,
    retained_customers + new_customers + reactivated_customers as customers_end,
    customers_start - retained_customers as churned_customers,
    cast(retained_customers as double) / nullif(customers_start, 0) as retention_rate,
    cast(customers_start - retained_customers as double) / nullif(customers_start, 0) as churn_rate,
    cast(retained_customers + reactivated_customers as double)
    / nullif(customers_start, 0) as crr_textbook
from counts
order by month
