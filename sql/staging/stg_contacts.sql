-- One row per CRM contact: its latest version, with e-mail and social handles normalised.
-- Latest version (contracts.md "Identity → Upserts"): read in delivery order, a version replaces
-- the one before unless both carry an updated_at and the earlier one is later. So the winner is,
-- among the versions from the last one without updated_at onwards, the one with the latest
-- updated_at (ties and undated: the later delivery).
with source as (
    select
        contact_id,
        email,
        first_name,
        last_name,
        phone,
        created_at,
        country,
        language,
        acquisition_source,
        birth_date,
        twitter_handle,
        facebook_handle,
        instagram_handle,
        linkedin_handle,
        updated_at,
        _source_file,
        _row_number,
        _delivery_seq
    from raw_contacts
),

delivered_in_order as (
    select
        *,
        row_number() over (
            partition by contact_id
            order by _delivery_seq, _row_number
        ) as delivery_position
    from source
),

after_last_undated as (
    select
        *,
        max(case when updated_at is null then delivery_position end) over (
            partition by contact_id
        ) as last_undated_position
    from delivered_in_order
),

ranked as (
    select
        *,
        row_number() over (
            partition by contact_id
            order by updated_at desc nulls last, delivery_position desc
        ) as version_rank
    from after_last_undated
    where delivery_position >= coalesce(last_undated_position, 0)
)

select
    contact_id,
    nullif(lower(trim(email)), '') as email,
    first_name,
    last_name,
    phone,
    created_at,
    nullif(upper(trim(country)), '') as country,
    nullif(lower(trim(language)), '') as language,
    nullif(lower(trim(acquisition_source)), '') as acquisition_source,
    birth_date,
    nullif(regexp_replace(lower(trim(twitter_handle)), '^@', ''), '') as twitter_handle,
    nullif(regexp_replace(lower(trim(facebook_handle)), '^@', ''), '') as facebook_handle,
    nullif(regexp_replace(lower(trim(instagram_handle)), '^@', ''), '') as instagram_handle,
    nullif(regexp_replace(lower(trim(linkedin_handle)), '^@', ''), '') as linkedin_handle,
    updated_at,
    _source_file,
    _row_number,
    _delivery_seq
from ranked
where version_rank = 1
