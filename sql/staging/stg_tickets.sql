-- One row per support ticket: its latest version (same rule as stg_contacts), e-mail normalised.
with source as (
    select
        ticket_id,
        contact_id,
        email,
        created_at,
        channel,
        category,
        status,
        first_response_at,
        solved_at,
        agent_replies,
        reopens,
        updated_at,
        _source_file,
        _row_number,
        _delivery_seq
    from raw_tickets
),

delivered_in_order as (
    select
        *,
        row_number() over (
            partition by ticket_id
            order by _delivery_seq, _row_number
        ) as delivery_position
    from source
),

after_last_undated as (
    select
        *,
        max(case when updated_at is null then delivery_position end) over (
            partition by ticket_id
        ) as last_undated_position
    from delivered_in_order
),

ranked as (
    select
        *,
        row_number() over (
            partition by ticket_id
            order by updated_at desc nulls last, delivery_position desc
        ) as version_rank
    from after_last_undated
    where delivery_position >= coalesce(last_undated_position, 0)
)

select
    ticket_id,
    nullif(trim(contact_id), '') as contact_id,
    nullif(replace(replace(lower(trim(email)), 'ς', 'σ'), 'i̇', 'i'), '') as email,
    created_at,
    lower(trim(channel)) as channel,
    lower(trim(category)) as category,
    lower(trim(status)) as status,
    first_response_at,
    solved_at,
    agent_replies,
    reopens,
    updated_at,
    _source_file,
    _row_number,
    _delivery_seq
from ranked
where version_rank = 1
