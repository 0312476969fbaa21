-- One row per CRM contact: its latest version, with e-mail and social handles normalised.
-- Normalised: lower(trim()), then final sigma 'ς' read as 'σ' and 'i' + U+0307 (dot above) as 'i',
-- so that an address lower-cased by another tool (JavaScript, Java and Python write 'σοφος' for
-- 'ΣΟΦΟΣ' and 'i̇' for 'İ', DuckDB 'σοφοσ' and 'i') is the same customer (docs/contracts.md,
-- "Identity"). Every staging model and pipeline.ingest.event_id normalise e-mails so.
-- Latest version (contracts.md "Identity → Upserts"): read in delivery order, a version replaces
-- the one before unless both carry an updated_at and the earlier one is later. So the winner is,
-- among the versions from the last one without updated_at onwards, the one with the latest
-- updated_at (ties and undated: the later delivery).
-- Personal data in free text is masked here, before any mart (docs/operations.md): e-mail
-- addresses, plain or spelled out, become '[email]' and phone numbers '[phone]'. The two patterns
-- are pipeline.pii.EMAIL and pipeline.pii.PHONE, copied (tests/test_pii.py keeps them equal).
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
    nullif(replace(replace(lower(trim(email)), 'ς', 'σ'), 'i̇', 'i'), '') as email,
    first_name,
    last_name,
    phone,
    created_at,
    regexp_replace(
        regexp_replace(
            nullif(upper(trim(country)), ''),
            '(?i)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]*[\[(<{][ \t\xa0]*at[ \t\xa0]*[\])>}][ \t\xa0]*(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}|(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]+at[ \t\xa0]+(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:[ \t\xa0]+dot[ \t\xa0]+(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]+dot[ \t\xa0]+(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}|(?:[A-Za-z0-9._%+-]|[^\x00-\x7F\xa0])+@(?:[A-Za-z0-9-]|[^\x00-\x7F\xa0])+(?:\.(?:[A-Za-z0-9-]|[^\x00-\x7F\xa0])+)*\.(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}',
            '[email]',
            'g'
        ),
        '\+[0-9]{1,3}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .()-]?[0-9]){6,}|(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}|0[0-9]{2,4}[ /-](?:[0-9]{6,}|[0-9]{3,4}[ -][0-9]{3,4})|0[1-9](?:[ .][0-9]{2}){4}',
        '[phone]',
        'g'
    ) as country,
    regexp_replace(
        regexp_replace(
            nullif(lower(trim(language)), ''),
            '(?i)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]*[\[(<{][ \t\xa0]*at[ \t\xa0]*[\])>}][ \t\xa0]*(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}|(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]+at[ \t\xa0]+(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:[ \t\xa0]+dot[ \t\xa0]+(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]+dot[ \t\xa0]+(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}|(?:[A-Za-z0-9._%+-]|[^\x00-\x7F\xa0])+@(?:[A-Za-z0-9-]|[^\x00-\x7F\xa0])+(?:\.(?:[A-Za-z0-9-]|[^\x00-\x7F\xa0])+)*\.(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}',
            '[email]',
            'g'
        ),
        '\+[0-9]{1,3}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .()-]?[0-9]){6,}|(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}|0[0-9]{2,4}[ /-](?:[0-9]{6,}|[0-9]{3,4}[ -][0-9]{3,4})|0[1-9](?:[ .][0-9]{2}){4}',
        '[phone]',
        'g'
    ) as language,
    regexp_replace(
        regexp_replace(
            nullif(lower(trim(acquisition_source)), ''),
            '(?i)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]*[\[(<{][ \t\xa0]*at[ \t\xa0]*[\])>}][ \t\xa0]*(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}|(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]+at[ \t\xa0]+(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:[ \t\xa0]+dot[ \t\xa0]+(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]+dot[ \t\xa0]+(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}|(?:[A-Za-z0-9._%+-]|[^\x00-\x7F\xa0])+@(?:[A-Za-z0-9-]|[^\x00-\x7F\xa0])+(?:\.(?:[A-Za-z0-9-]|[^\x00-\x7F\xa0])+)*\.(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}',
            '[email]',
            'g'
        ),
        '\+[0-9]{1,3}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .()-]?[0-9]){6,}|(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}|0[0-9]{2,4}[ /-](?:[0-9]{6,}|[0-9]{3,4}[ -][0-9]{3,4})|0[1-9](?:[ .][0-9]{2}){4}',
        '[phone]',
        'g'
    ) as acquisition_source,
    birth_date,
    -- A handle lower case without a leading '@'; a link to the profile (https://x.com/Ana_Pop,
    -- instagram.com/eva.lang/, linkedin.com/in/eva-lang) is its handle, so that it links the
    -- mentions of that handle (the same patterns as in stg_social_mentions). Facebook's
    -- profile.php?id=… names no handle and stays as delivered.
    nullif(
        regexp_replace(
            coalesce(nullif(regexp_extract(replace(replace(lower(trim(twitter_handle)), 'ς', 'σ'), 'i̇', 'i'), '^(?:https?://)?(?:www\.|mobile\.|m\.)?(?:twitter|x)\.com/@?([^/?#]+)/?(?:[?#].*)?$', 1), ''), replace(replace(lower(trim(twitter_handle)), 'ς', 'σ'), 'i̇', 'i')),
            '^@',
            ''
        ),
        ''
    ) as twitter_handle,
    case
        when lower(facebook_handle) like '%profile.php%' then replace(replace(lower(trim(facebook_handle)), 'ς', 'σ'), 'i̇', 'i')
        else nullif(
            regexp_replace(
                coalesce(nullif(regexp_extract(replace(replace(lower(trim(facebook_handle)), 'ς', 'σ'), 'i̇', 'i'), '^(?:https?://)?(?:www\.|m\.|web\.)?(?:facebook|fb)\.com/([^/?#]+)/?(?:[?#].*)?$', 1), ''), replace(replace(lower(trim(facebook_handle)), 'ς', 'σ'), 'i̇', 'i')),
                '^@',
                ''
            ),
            ''
        )
    end as facebook_handle,
    nullif(
        regexp_replace(
            coalesce(nullif(regexp_extract(replace(replace(lower(trim(instagram_handle)), 'ς', 'σ'), 'i̇', 'i'), '^(?:https?://)?(?:www\.)?instagram\.com/([^/?#]+)/?(?:[?#].*)?$', 1), ''), replace(replace(lower(trim(instagram_handle)), 'ς', 'σ'), 'i̇', 'i')),
            '^@',
            ''
        ),
        ''
    ) as instagram_handle,
    nullif(
        regexp_replace(
            coalesce(nullif(regexp_extract(replace(replace(lower(trim(linkedin_handle)), 'ς', 'σ'), 'i̇', 'i'), '^(?:https?://)?(?:[a-z]{2,3}\.)?linkedin\.com/(?:in|company)/([^/?#]+)/?(?:[?#].*)?$', 1), ''), replace(replace(lower(trim(linkedin_handle)), 'ς', 'σ'), 'i̇', 'i')),
            '^@',
            ''
        ),
        ''
    ) as linkedin_handle,
    updated_at,
    _source_file,
    _row_number,
    _delivery_seq
from ranked
where version_rank = 1
