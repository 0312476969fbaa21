-- One row per customer: support, survey, e-mail and social facts over the windows of metrics.md.
-- Windows compare the event's UTC date: 12m = (as_of - 365 days, as_of], 90d = (as_of - 90 days,
-- as_of]; every input is already limited to events on or before as_of.
with settings as (
    select
        as_of
    from pipeline_settings
),

customers as (
    select
        customer_id
    from int_customers
),

tickets as (
    select
        int_tickets.customer_id,
        date_diff('day', int_tickets.created_date, settings.as_of) as age_days
    from int_tickets
    cross join settings
    where int_tickets.customer_id is not null
),

surveys as (
    select
        int_surveys.customer_id,
        int_surveys.response_id,
        int_surveys.survey_type,
        int_surveys.score,
        int_surveys.responded_at,
        date_diff('day', int_surveys.responded_date, settings.as_of) as age_days
    from int_surveys
    cross join settings
    where int_surveys.customer_id is not null
),

email_recipients as (
    select
        int_email_recipients.customer_id,
        int_email_recipients.campaign_id,
        int_email_recipients.has_opened,
        int_email_recipients.has_unsubscribed,
        date_diff('day', cast(int_email_recipients.delivered_at as date), settings.as_of)
        as delivered_age_days,
        date_diff('day', cast(int_email_recipients.last_open_at as date), settings.as_of)
        as open_age_days,
        date_diff('day', cast(int_email_recipients.last_click_at as date), settings.as_of)
        as click_age_days
    from int_email_recipients
    cross join settings
    where int_email_recipients.customer_id is not null
),

mentions as (
    select
        int_social_mentions.customer_id,
        int_social_mentions.sentiment,
        date_diff('day', int_social_mentions.posted_date, settings.as_of) as age_days
    from int_social_mentions
    cross join settings
    where int_social_mentions.customer_id is not null
),

signals as (
    select
        int_dissatisfaction_signals.customer_id,
        date_diff('day', int_dissatisfaction_signals.signalled_date, settings.as_of) as age_days
    from int_dissatisfaction_signals
    cross join settings
    where int_dissatisfaction_signals.customer_id is not null
),

ticket_facts as (
    select
        customer_id,
        count(case when age_days < 365 then 1 end) as tickets_12m,
        count(case when age_days < 90 then 1 end) as tickets_90d
    from tickets
    group by customer_id
),

survey_facts as (
    select
        customer_id,
        count(case when age_days < 365 then 1 end) as responses_12m,
        avg(case when survey_type = 'ces' and age_days < 365 then cast(score as double) end)
        as avg_ces_12m
    from surveys
    group by customer_id
),

latest_responses as (
    select
        customer_id,
        survey_type,
        score,
        row_number() over (
            partition by customer_id, survey_type
            order by responded_at desc, response_id desc
        ) as recency_rank
    from surveys
    where survey_type in ('nps', 'csat')
),

last_scores as (
    select
        customer_id,
        max(case when survey_type = 'nps' then score end) as last_nps,
        max(case when survey_type = 'csat' then score end) as last_csat
    from latest_responses
    where recency_rank = 1
    group by customer_id
),

email_facts as (
    select
        customer_id,
        count(case when delivered_age_days < 90 then 1 end) as emails_delivered_90d,
        count(case when open_age_days < 90 then 1 end) as opens_90d,
        count(case when click_age_days < 90 then 1 end) as clicks_90d,
        count(case when delivered_age_days < 90 and has_opened then 1 end)
        as delivered_opened_90d,
        count(case when open_age_days < 365 or click_age_days < 365 then 1 end)
        as engaged_campaigns_12m,
        count(case when has_unsubscribed then 1 end) > 0 as is_unsubscribed
    from email_recipients
    -- A recipient outside every window above who never unsubscribed counts nowhere: left out
    -- before the grouping, which at 1M customers is most of the model's cost (half of 26M rows).
    where delivered_age_days < 90 or open_age_days < 365 or click_age_days < 365 or has_unsubscribed
    group by customer_id
),

mention_facts as (
    select
        customer_id,
        count(case when age_days < 365 then 1 end) as mentions_12m,
        count(case when age_days < 365 and sentiment = 'negative' then 1 end)
        as negative_mentions_12m
    from mentions
    group by customer_id
),

signal_facts as (
    select
        customer_id,
        count(case when age_days < 90 then 1 end) as signals_90d
    from signals
    group by customer_id
),

combined as (
    select
        customers.customer_id,
        coalesce(ticket_facts.tickets_12m, 0) as tickets_12m,
        coalesce(ticket_facts.tickets_90d, 0) as tickets_90d,
        coalesce(survey_facts.responses_12m, 0) as responses_12m,
        last_scores.last_nps,
        last_scores.last_csat,
        survey_facts.avg_ces_12m,
        coalesce(email_facts.emails_delivered_90d, 0) as emails_delivered_90d,
        coalesce(email_facts.opens_90d, 0) as opens_90d,
        coalesce(email_facts.clicks_90d, 0) as clicks_90d,
        coalesce(email_facts.delivered_opened_90d, 0) as delivered_opened_90d,
        coalesce(email_facts.engaged_campaigns_12m, 0) as engaged_campaigns_12m,
        coalesce(email_facts.is_unsubscribed, false) as is_unsubscribed,
        coalesce(mention_facts.mentions_12m, 0) as mentions_12m,
        coalesce(mention_facts.negative_mentions_12m, 0) as negative_mentions_12m,
        coalesce(signal_facts.signals_90d, 0) as signals_90d
    from customers
    left join ticket_facts
        on customers.customer_id = ticket_facts.customer_id
    left join survey_facts
        on customers.customer_id = survey_facts.customer_id
    left join last_scores
        on customers.customer_id = last_scores.customer_id
    left join email_facts
        on customers.customer_id = email_facts.customer_id
    left join mention_facts
        on customers.customer_id = mention_facts.customer_id
    left join signal_facts
        on customers.customer_id = signal_facts.customer_id
)

select
    customer_id,
    tickets_12m,
    tickets_12m > 0 as helped_12m,
    tickets_90d,
    last_nps,
    last_csat,
    avg_ces_12m,
    emails_delivered_90d,
    opens_90d,
    clicks_90d,
    cast(delivered_opened_90d as double) / nullif(emails_delivered_90d, 0) as open_rate_90d,
    is_unsubscribed,
    mentions_12m,
    negative_mentions_12m,
    engaged_campaigns_12m > 0 as engaged_email_12m,
    mentions_12m > 0 as engaged_social_12m,
    tickets_12m > 0 as engaged_support_12m,
    responses_12m > 0 as engaged_survey_12m,
    case when engaged_campaigns_12m > 0 then 1 else 0 end
    + case when mentions_12m > 0 then 1 else 0 end
    + case when tickets_12m > 0 then 1 else 0 end
    + case when responses_12m > 0 then 1 else 0 end as channels_engaged_12m,
    signals_90d > 0 as dissatisfied_90d,
    signals_90d > 0 and tickets_90d = 0 as silent_dissatisfied_90d
from combined
