-- Contacts that exist on as_of (created before the end of as_of), each mapped to the contact it
-- merges onto: contacts sharing a normalised e-mail merge onto the oldest (created_at, then
-- contact_id); a contact without e-mail stands alone.
with settings as (
    select
        as_of_end
    from pipeline_settings
),

contacts as (
    select
        contact_id,
        email,
        created_at,
        country,
        language,
        acquisition_source,
        twitter_handle,
        facebook_handle,
        instagram_handle,
        linkedin_handle
    from stg_contacts
),

existing as (
    select
        contacts.*
    from contacts
    cross join settings
    where contacts.created_at < settings.as_of_end
),

merged as (
    select
        *,
        case
            when email is null then contact_id
            else first_value(contact_id) over (
                partition by email
                order by created_at, contact_id
                rows between unbounded preceding and unbounded following
            )
        end as customer_contact_id
    from existing
)

select
    contact_id,
    customer_contact_id,
    contact_id = customer_contact_id as is_surviving,
    email,
    created_at,
    country,
    language,
    acquisition_source,
    twitter_handle,
    facebook_handle,
    instagram_handle,
    linkedin_handle
from merged
