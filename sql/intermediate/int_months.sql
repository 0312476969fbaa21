-- Calendar months (UTC, as their first day) from the earliest month holding any record dated on or
-- before as_of to the as_of month. Each monthly mart starts this spine at its own first month.
-- period_end_date is the month's last day, or as_of for the open month.
-- Portability: generate_series/unnest (Spark: explode(sequence(...))).
with settings as (
    select
        as_of,
        as_of_end
    from pipeline_settings
),

record_times as (
    select
        ordered_at as happened_at
    from stg_orders
    union all
    select
        created_at as happened_at
    from stg_tickets
    union all
    select
        responded_at as happened_at
    from stg_surveys
    union all
    select
        occurred_at as happened_at
    from stg_email_events
    union all
    select
        posted_at as happened_at
    from stg_social_mentions
),

bounds as (
    select
        coalesce(
            cast(date_trunc('month', min(record_times.happened_at)) as date),
            cast(date_trunc('month', settings.as_of) as date)
        ) as first_month,
        cast(date_trunc('month', settings.as_of) as date) as last_month
    from settings
    left join record_times
        on record_times.happened_at < settings.as_of_end
    group by
        settings.as_of
),

series as (
    select
        unnest(generate_series(first_month, last_month, interval 1 month)) as month_start
    from bounds
),

months as (
    select
        cast(month_start as date) as month,
        cast(cast(month_start as date) + interval 1 month as date) - 1 as month_end_date
    from series
)

select
    months.month,
    months.month_end_date,
    least(months.month_end_date, settings.as_of) as period_end_date,
    months.month_end_date <= settings.as_of as is_complete
from months
cross join settings
