-- One row per survey response: the first delivered copy of each response_id (immutable).
with source as (
    select
        response_id,
        contact_id,
        email,
        responded_at,
        survey_type,
        score,
        comment,
        ticket_id,
        _source_file,
        _row_number,
        _delivery_seq
    from raw_surveys
),

ranked as (
    select
        *,
        row_number() over (
            partition by response_id
            order by _delivery_seq, _row_number
        ) as copy_rank
    from source
)

select
    response_id,
    nullif(trim(contact_id), '') as contact_id,
    nullif(replace(replace(lower(trim(email)), 'ς', 'σ'), 'i̇', 'i'), '') as email,
    responded_at,
    lower(trim(survey_type)) as survey_type,
    score,
    comment,
    nullif(trim(ticket_id), '') as ticket_id,
    _source_file,
    _row_number,
    _delivery_seq
from ranked
where copy_rank = 1
