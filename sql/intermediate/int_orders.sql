-- Orders placed on or before as_of with the natural key of their customer and whether each is a
-- qualifying purchase (status not pending/cancelled and net_amount > 0).
with settings as (
    select
        as_of_end
    from pipeline_settings
),

orders as (
    select
        order_id,
        ordered_at,
        status,
        currency,
        gross_amount,
        discount_amount,
        refund_amount,
        net_amount
    from stg_orders
),

links as (
    select
        record_id,
        natural_key,
        is_contact,
        email
    from int_record_links
    where record_type = 'order'
),

placed as (
    select
        orders.*
    from orders
    cross join settings
    where orders.ordered_at < settings.as_of_end
)

select
    placed.order_id,
    links.natural_key,
    links.is_contact,
    links.email,
    placed.ordered_at,
    cast(placed.ordered_at as date) as ordered_date,
    cast(date_trunc('month', placed.ordered_at) as date) as order_month,
    placed.status,
    placed.currency,
    placed.gross_amount,
    placed.discount_amount,
    placed.refund_amount,
    placed.net_amount,
    placed.status not in ('pending', 'cancelled') and placed.net_amount > 0 as is_qualifying
from placed
inner join links
    on placed.order_id = links.record_id
