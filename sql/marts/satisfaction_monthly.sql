-- satisfaction_monthly: one row per month from the first month with a ticket, a survey response
-- or a dissatisfaction signal to the as_of month. Tickets and responses of keys that are not
-- customers count in the totals; dissatisfied_customers counts customers only.
-- Portability: quantile_cont (Spark: percentile_cont / percentile).
with months as (
    select
        month,
        is_complete
    from int_months
),

tickets as (
    select
        ticket_id,
        customer_id,
        created_month,
        category,
        is_answered,
        first_response_hours,
        is_solved,
        resolution_hours,
        is_one_touch,
        is_sla_eligible,
        is_sla_met
    from int_tickets
),

surveys as (
    select
        responded_month,
        survey_type,
        score
    from int_surveys
),

signals as (
    select
        customer_id,
        signalled_month
    from int_dissatisfaction_signals
),

data_months as (
    select
        created_month as month
    from tickets
    union all
    select
        responded_month as month
    from surveys
    union all
    select
        signalled_month as month
    from signals
),

first_month as (
    select
        min(month) as first_month
    from data_months
),

ticket_stats as (
    select
        created_month as month,
        count(*) as tickets_created,
        count(case when is_solved then 1 end) as tickets_solved,
        quantile_cont(case when is_answered then first_response_hours end, 0.5)
        as median_first_response_hours,
        quantile_cont(case when is_answered then first_response_hours end, 0.9)
        as p90_first_response_hours,
        count(case when is_sla_eligible then 1 end) as sla_eligible,
        count(case when is_sla_met then 1 end) as sla_met,
        quantile_cont(resolution_hours, 0.5) as median_resolution_hours,
        count(case when is_one_touch then 1 end) as one_touch_solved,
        count(case when category = 'complaint' then 1 end) as complaints
    from tickets
    group by created_month
),

survey_stats as (
    select
        responded_month as month,
        count(case when survey_type = 'nps' then 1 end) as nps_responses,
        count(case when survey_type = 'nps' and score >= 9 then 1 end) as promoters,
        count(case when survey_type = 'nps' and score between 7 and 8 then 1 end) as passives,
        count(case when survey_type = 'nps' and score <= 6 then 1 end) as detractors,
        count(case when survey_type = 'csat' then 1 end) as csat_responses,
        count(case when survey_type = 'csat' and score >= 4 then 1 end) as csat_satisfied,
        count(case when survey_type = 'ces' then 1 end) as ces_responses,
        avg(case when survey_type = 'ces' then cast(score as double) end) as ces
    from surveys
    group by responded_month
),

dissatisfied as (
    select distinct
        signals.signalled_month as month,
        signals.customer_id,
        not exists (
            select
                1
            from tickets
            where tickets.customer_id = signals.customer_id
                and tickets.created_month = signals.signalled_month
        ) as is_silent
    from signals
    where signals.customer_id is not null
),

dissatisfied_stats as (
    select
        month,
        count(*) as dissatisfied_customers,
        count(case when is_silent then 1 end) as silent_dissatisfied_customers
    from dissatisfied
    group by month
),

monthly as (
    select
        months.month,
        months.is_complete,
        coalesce(survey_stats.nps_responses, 0) as nps_responses,
        coalesce(survey_stats.promoters, 0) as promoters,
        coalesce(survey_stats.passives, 0) as passives,
        coalesce(survey_stats.detractors, 0) as detractors,
        coalesce(survey_stats.csat_responses, 0) as csat_responses,
        coalesce(survey_stats.csat_satisfied, 0) as csat_satisfied,
        coalesce(survey_stats.ces_responses, 0) as ces_responses,
        survey_stats.ces,
        coalesce(ticket_stats.tickets_created, 0) as tickets_created,
        coalesce(ticket_stats.tickets_solved, 0) as tickets_solved,
        ticket_stats.median_first_response_hours,
        ticket_stats.p90_first_response_hours,
        coalesce(ticket_stats.sla_eligible, 0) as sla_eligible,
        coalesce(ticket_stats.sla_met, 0) as sla_met,
        ticket_stats.median_resolution_hours,
        coalesce(ticket_stats.one_touch_solved, 0) as one_touch_solved,
        coalesce(ticket_stats.complaints, 0) as complaints,
        coalesce(dissatisfied_stats.dissatisfied_customers, 0) as dissatisfied_customers,
        coalesce(dissatisfied_stats.silent_dissatisfied_customers, 0)
        as silent_dissatisfied_customers
    from months
    inner join first_month
        on months.month >= first_month.first_month
    left join ticket_stats
        on months.month = ticket_stats.month
    left join survey_stats
        on months.month = survey_stats.month
    left join dissatisfied_stats
        on months.month = dissatisfied_stats.month
)

select
    month,
    is_complete,
    nps_responses,
    promoters,
    passives,
    detractors,
    100 * cast(promoters - detractors as double) / nullif(nps_responses, 0) as nps,
    csat_responses,
    cast(csat_satisfied as double) / nullif(csat_responses, 0) as csat,
    ces_responses,
    ces,
    tickets_created,
    tickets_solved,
    median_first_response_hours,
    p90_first_response_hours,
    cast(sla_met as double) / nullif(sla_eligible, 0) as sla_met_rate,
    median_resolution_hours,
    cast(one_touch_solved as double) / nullif(tickets_solved, 0) as fcr_rate,
    complaints,
    dissatisfied_customers,
    silent_dissatisfied_customers,
    cast(silent_dissatisfied_customers as double)
    / nullif(dissatisfied_customers, 0) as silent_share
from monthly
order by month
