-- social_monthly: one row per (month, platform) with at least one mention posted on or before
-- as_of. Sentiment is the delivered one, else the score of the mention's language's measured
-- scorer (VADER for English); a mention left unscored (no scorer for its language, unknown
-- language, a delivered language its text contradicts, no text) counts in mentions and
-- sentiment_unscored but in none of positive/neutral/negative.
-- Portability: quantile_cont (Spark: percentile_cont / percentile).
with months as (
    select
        month,
        is_complete
    from int_months
),

mentions as (
    select
        mention_id,
        customer_id,
        platform,
        posted_month,
        sentiment,
        sentiment_source,
        unrecognised_sentiment,
        brand_replied_at,
        response_minutes
    from int_social_mentions
),

monthly as (
    select
        posted_month as month,
        platform,
        count(*) as mentions,
        count(case when sentiment = 'positive' then 1 end) as positive,
        count(case when sentiment = 'neutral' then 1 end) as neutral,
        count(case when sentiment = 'negative' then 1 end) as negative,
        count(case when sentiment_source = 'delivered' then 1 end) as sentiment_delivered,
        count(case when sentiment_source = 'scored' then 1 end) as sentiment_scored,
        count(case when sentiment is null then 1 end) as sentiment_unscored,
        count(unrecognised_sentiment) as sentiment_unrecognised,
        count(customer_id) as linked_mentions,
        count(brand_replied_at) as replied,
        quantile_cont(response_minutes, 0.5) as median_response_minutes
    from mentions
    group by
        posted_month,
        platform
)

select
    monthly.month,
    monthly.platform,
    months.is_complete,
    monthly.mentions,
    monthly.positive,
    monthly.neutral,
    monthly.negative,
    cast(monthly.positive - monthly.negative as double) / monthly.mentions as net_sentiment,
    monthly.linked_mentions,
    monthly.replied,
    cast(monthly.replied as double) / monthly.mentions as response_rate,
    monthly.median_response_minutes,
    monthly.sentiment_delivered,
    monthly.sentiment_scored,
    monthly.sentiment_unscored,
    monthly.sentiment_unrecognised
from monthly
inner join months
    on monthly.month = months.month
order by
    monthly.month,
    monthly.platform
