-- One row per e-mail event: the first delivered copy of each key (immutable). The key is event_id,
-- or when the export has none, sha256 of 'email|campaign_id|event_type|occurred_at' with the
-- e-mail normalised and occurred_at written as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC).
with source as (
    select
        event_id,
        nullif(lower(trim(email)), '') as email,
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
                concat_ws(
                    '|',
                    email,
                    campaign_id,
                    event_type,
                    cast(occurred_at as varchar)
                )
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
)

select
    event_key as event_id,
    email,
    campaign_id,
    nullif(trim(campaign_name), '') as campaign_name,
    event_type,
    occurred_at,
    url,
    _source_file,
    _row_number,
    _delivery_seq
from ranked
where copy_rank = 1
