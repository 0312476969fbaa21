-- Support tickets created on or before as_of, with the customer they belong to (NULL when the
-- ticket's key outside the CRM is not a customer) and what as_of allows to be known about them:
-- a first response after as_of is no response; a ticket is solved only when its status is
-- solved/closed and its solved_at, if given, is on or before as_of.
with settings as (
    select
        as_of_end,
        sla_hours
    from pipeline_settings
),

tickets as (
    select
        ticket_id,
        created_at,
        channel,
        category,
        status,
        first_response_at,
        solved_at,
        agent_replies,
        reopens
    from stg_tickets
),

links as (
    select
        record_id,
        natural_key
    from int_record_links
    where record_type = 'ticket'
),

customers as (
    select
        customer_id,
        natural_key
    from int_customers
),

known_by_as_of as (
    select
        tickets.ticket_id,
        tickets.created_at,
        tickets.channel,
        tickets.category,
        tickets.status,
        tickets.agent_replies,
        coalesce(tickets.reopens, 0) as reopens,
        case
            when tickets.first_response_at < settings.as_of_end then tickets.first_response_at
        end as first_response_at,
        tickets.status in ('solved', 'closed')
        and coalesce(tickets.solved_at < settings.as_of_end, true) as is_solved,
        tickets.solved_at,
        (epoch(settings.as_of_end) - epoch(tickets.created_at)) / 3600.0 >= settings.sla_hours
        as is_past_sla_window,
        settings.sla_hours
    from tickets
    cross join settings
    where tickets.created_at < settings.as_of_end
),

measured as (
    select
        *,
        (epoch(first_response_at) - epoch(created_at)) / 3600.0 as first_response_hours,
        case
            when is_solved then (epoch(solved_at) - epoch(created_at)) / 3600.0
        end as resolution_hours
    from known_by_as_of
)

select
    measured.ticket_id,
    customers.customer_id,
    measured.created_at,
    cast(measured.created_at as date) as created_date,
    cast(date_trunc('month', measured.created_at) as date) as created_month,
    measured.channel,
    measured.category,
    measured.status,
    measured.agent_replies,
    measured.reopens,
    measured.first_response_at,
    measured.first_response_at is not null as is_answered,
    measured.first_response_hours,
    measured.is_solved,
    case when measured.is_solved then measured.solved_at end as solved_at,
    measured.resolution_hours,
    measured.is_solved
    and coalesce(measured.agent_replies = 1, false)
    and measured.reopens = 0 as is_one_touch,
    measured.first_response_at is not null or measured.is_past_sla_window as is_sla_eligible,
    coalesce(measured.first_response_hours <= measured.sla_hours, false) as is_sla_met
from measured
inner join links
    on measured.ticket_id = links.record_id
left join customers
    on links.natural_key = customers.natural_key
