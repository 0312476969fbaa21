-- Qualifying purchases on or before as_of, one row per order, with the customer_id of the buyer.
with orders as (
    select
        order_id,
        natural_key,
        ordered_at,
        ordered_date,
        order_month,
        currency,
        net_amount
    from int_orders
    where is_qualifying
),

customers as (
    select
        customer_id,
        natural_key
    from int_customers
)

select
    customers.customer_id,
    orders.order_id,
    orders.ordered_at,
    orders.ordered_date,
    orders.order_month,
    orders.currency,
    orders.net_amount
from orders
inner join customers
    on orders.natural_key = customers.natural_key
