-- One row per order: its latest version (same rule as stg_contacts), e-mail normalised,
-- missing discount and refund read as 0, and net_amount = gross - discount - refund.
with source as (
    select
        order_id,
        contact_id,
        email,
        ordered_at,
        status,
        currency,
        gross_amount,
        discount_amount,
        refund_amount,
        updated_at,
        _source_file,
        _row_number,
        _delivery_seq
    from raw_orders
),

delivered_in_order as (
    select
        *,
        row_number() over (
            partition by order_id
            order by _delivery_seq, _row_number
        ) as delivery_position
    from source
),

after_last_undated as (
    select
        *,
        max(case when updated_at is null then delivery_position end) over (
            partition by order_id
        ) as last_undated_position
    from delivered_in_order
),

ranked as (
    select
        *,
        row_number() over (
            partition by order_id
            order by updated_at desc nulls last, delivery_position desc
        ) as version_rank
    from after_last_undated
    where delivery_position >= coalesce(last_undated_position, 0)
),

normalised as (
    select
        order_id,
        nullif(trim(contact_id), '') as contact_id,
        nullif(replace(replace(lower(trim(email)), 'ς', 'σ'), 'i̇', 'i'), '') as email,
        ordered_at,
        lower(trim(status)) as status,
        nullif(upper(trim(currency)), '') as currency,
        gross_amount,
        coalesce(discount_amount, 0) as discount_amount,
        coalesce(refund_amount, 0) as refund_amount,
        updated_at,
        _source_file,
        _row_number,
        _delivery_seq
    from ranked
    where version_rank = 1
)

select
    order_id,
    contact_id,
    email,
    ordered_at,
    status,
    currency,
    gross_amount,
    discount_amount,
    refund_amount,
    gross_amount - discount_amount - refund_amount as net_amount,
    updated_at,
    _source_file,
    _row_number,
    _delivery_seq
from normalised
