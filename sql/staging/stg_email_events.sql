-- One row per e-mail event: the first delivered copy of each key (immutable). The key is event_id;
-- ingestion fills a missing one with sha256 of 'email|campaign_id|event_type|occurred_at'
-- (pipeline.ingest.core.EVENT_ID_SQL: e-mail normalised, occurred_at in UTC as ISO 8601
-- 'YYYY-MM-DDTHH:MM:SS' plus '.ffffff' only with microseconds). The same key is computed here
-- for rows that reached the raw table without one. Being immutable, a key keeps its first copy
-- (contracts.md), so a corrected re-delivery cannot replace a leaked campaign name: masking can.
-- Personal data in free text is masked here, before any mart (docs/operations.md): e-mail
-- addresses, plain or spelled out, become '[email]' and phone numbers '[phone]'. The two patterns
-- are pipeline.pii.EMAIL and pipeline.pii.PHONE, copied (tests/test_pii.py keeps them equal).
with source as (
    select
        event_id,
        nullif(replace(replace(lower(trim(email)), 'ς', 'σ'), 'i̇', 'i'), '') as email,
        campaign_id,
        campaign_name,
        lower(trim(event_type)) as event_type,
        occurred_at,
        url,
        _source_file,
        _row_number,
        _delivery_seq
    from raw_email_events
),

keyed as (
    select
        coalesce(
            nullif(trim(event_id), ''),
            sha256(
                email || '|' || campaign_id || '|' || event_type || '|'
                || strftime(occurred_at, '%Y-%m-%dT%H:%M:%S')
                || case
                    when microsecond(occurred_at) % 1000000 = 0 then ''
                    else '.' || lpad(cast(microsecond(occurred_at) % 1000000 as varchar), 6, '0')
                end
            )
        ) as event_key,
        *
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by event_key
            order by _delivery_seq, _row_number
        ) as copy_rank
    from keyed
),

first_copies as (
    select
        *,
        nullif(trim(campaign_name), '') as trimmed_name
    from ranked
    where copy_rank = 1
),

-- Masked once per distinct name (a few hundred) rather than per event (millions): a tenth of
-- the time on 1M events.
campaign_names as (
    select distinct
        trimmed_name as campaign_name
    from first_copies
),

masked_names as (
    select
        campaign_name,
        regexp_replace(
            regexp_replace(
                campaign_name,
                '(?i)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]*[\[(<{][ \t\xa0]*at[ \t\xa0]*[\])>}][ \t\xa0]*(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}|(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]+at[ \t\xa0]+(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:[ \t\xa0]+dot[ \t\xa0]+(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]+dot[ \t\xa0]+(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}|(?:[A-Za-z0-9._%+-]|[^\x00-\x7F\xa0])+@(?:[A-Za-z0-9-]|[^\x00-\x7F\xa0])+(?:\.(?:[A-Za-z0-9-]|[^\x00-\x7F\xa0])+)*\.(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}',
                '[email]',
                'g'
            ),
            '\+[0-9]{1,3}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .()-]?[0-9]){6,}|(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}|0[0-9]{2,4}[ /-](?:[0-9]{6,}|[0-9]{3,4}[ -][0-9]{3,4})|0[1-9](?:[ .][0-9]{2}){4}',
            '[phone]',
            'g'
        ) as masked_name
    from campaign_names
)

select
    first_copies.event_key as event_id,
    first_copies.email,
    first_copies.campaign_id,
    masked_names.masked_name as campaign_name,
    first_copies.event_type,
    first_copies.occurred_at,
    first_copies.url,
    first_copies._source_file,
    first_copies._row_number,
    first_copies._delivery_seq
from first_copies
left join masked_names
    on first_copies.trimmed_name = masked_names.campaign_name
