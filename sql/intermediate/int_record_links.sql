-- Every order, ticket and survey response mapped to the natural key of the customer it belongs to
-- (contracts.md "Identity → Linking"): by contact_id when it names an existing contact, otherwise
-- by normalised e-mail to a contact, both onto the contact they merged into; otherwise a key
-- outside the CRM: 'contact:<contact_id>' when the record has one, else 'email:<e-mail>'.
with contacts as (
    select
        contact_id,
        customer_contact_id,
        email
    from int_contacts
),

contact_emails as (
    select distinct
        email,
        customer_contact_id
    from contacts
    where email is not null
),

records as (
    select
        'order' as record_type,
        order_id as record_id,
        contact_id,
        email
    from stg_orders
    union all
    select
        'ticket' as record_type,
        ticket_id as record_id,
        contact_id,
        email
    from stg_tickets
    union all
    select
        'survey' as record_type,
        response_id as record_id,
        contact_id,
        email
    from stg_surveys
),

linked as (
    select
        records.record_type,
        records.record_id,
        records.contact_id,
        records.email,
        coalesce(
            by_contact_id.customer_contact_id,
            by_email.customer_contact_id
        ) as customer_contact_id
    from records
    left join contacts as by_contact_id
        on records.contact_id = by_contact_id.contact_id
    left join contact_emails as by_email
        on records.email = by_email.email
)

select
    record_type,
    record_id,
    case
        when customer_contact_id is not null then 'contact:' || customer_contact_id
        when contact_id is not null then 'contact:' || contact_id
        else 'email:' || email
    end as natural_key,
    customer_contact_id is not null as is_contact,
    email
from linked
