-- Every dissatisfaction signal on or before as_of, one row each: an NPS response <= 6, a CSAT
-- <= 2, a CES <= 3, a negative social mention (delivered or scored), an e-mail spam complaint.
-- customer_id is NULL for a signal that belongs to no customer (it still counts in monthly data).
with surveys as (
    select
        response_id,
        customer_id,
        survey_type,
        responded_at,
        is_dissatisfied
    from int_surveys
),

mentions as (
    select
        mention_id,
        customer_id,
        posted_at,
        sentiment
    from int_social_mentions
),

email_events as (
    select
        event_id,
        customer_id,
        occurred_at,
        event_type
    from int_email_events
),

signals as (
    select
        survey_type || '_response' as signal_type,
        response_id as source_id,
        customer_id,
        responded_at as signalled_at
    from surveys
    where is_dissatisfied
    union all
    select
        'negative_mention' as signal_type,
        mention_id as source_id,
        customer_id,
        posted_at as signalled_at
    from mentions
    where sentiment = 'negative'
    union all
    select
        'spam_complaint' as signal_type,
        event_id as source_id,
        customer_id,
        occurred_at as signalled_at
    from email_events
    where event_type = 'spam_complaint'
)

select
    signal_type,
    source_id,
    customer_id,
    signalled_at,
    cast(signalled_at as date) as signalled_date,
    cast(date_trunc('month', signalled_at) as date) as signalled_month
from signals
