-- One row per normalised e-mail held by a customer: the customer its e-mail events go to. When
-- customers share an e-mail: a contact first, then a key 'email:<e-mail>', then the lowest other
-- natural key.
with customers as (
    select
        customer_id,
        natural_key,
        is_contact,
        email
    from int_customers
    where email is not null
),

ranked_owners as (
    select
        email,
        customer_id,
        row_number() over (
            partition by email
            order by
                is_contact desc,
                natural_key = 'email:' || email desc,
                natural_key
        ) as owner_rank
    from customers
)

select
    email,
    customer_id
from ranked_owners
where owner_rank = 1
