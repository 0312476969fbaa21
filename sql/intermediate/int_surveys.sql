-- Survey responses given on or before as_of, with the customer they belong to (NULL when the
-- response's key outside the CRM is not a customer) and whether the score is a dissatisfaction
-- signal (NPS <= 6, CSAT <= 2, CES <= 3).
with settings as (
    select
        as_of_end
    from pipeline_settings
),

surveys as (
    select
        response_id,
        responded_at,
        survey_type,
        score,
        ticket_id
    from stg_surveys
),

links as (
    select
        record_id,
        natural_key
    from int_record_links
    where record_type = 'survey'
),

customers as (
    select
        customer_id,
        natural_key
    from int_customers
),

given as (
    select
        surveys.*
    from surveys
    cross join settings
    where surveys.responded_at < settings.as_of_end
)

select
    given.response_id,
    customers.customer_id,
    given.responded_at,
    cast(given.responded_at as date) as responded_date,
    cast(date_trunc('month', given.responded_at) as date) as responded_month,
    given.survey_type,
    given.score,
    given.ticket_id,
    case given.survey_type
        when 'nps' then given.score <= 6
        when 'csat' then given.score <= 2
        when 'ces' then given.score <= 3
        else false
    end as is_dissatisfied
from given
inner join links
    on given.response_id = links.record_id
left join customers
    on links.natural_key = customers.natural_key
