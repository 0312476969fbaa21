-- social_language_monthly: one row per (month, platform, language) with at least one mention
-- posted on or before as_of: how many mentions each language has, how their language was known
-- and how their sentiment was decided (delivered, scored by the language's measured scorer, or
-- left unscored). A mention whose language is unknown counts under language 'unknown'.
with months as (
    select
        month,
        is_complete
    from int_months
),

mentions as (
    select
        mention_id,
        platform,
        posted_month,
        coalesce(language, 'unknown') as language,
        language_source,
        sentiment,
        sentiment_source,
        unrecognised_sentiment
    from int_social_mentions
),

monthly as (
    select
        posted_month as month,
        platform,
        language,
        count(*) as mentions,
        count(case when language_source = 'delivered' then 1 end) as language_delivered,
        count(case when language_source = 'detected' then 1 end) as language_detected,
        count(case when sentiment_source = 'delivered' then 1 end) as sentiment_delivered,
        count(case when sentiment_source = 'scored' then 1 end) as sentiment_scored,
        count(case when sentiment is null then 1 end) as sentiment_unscored,
        count(unrecognised_sentiment) as sentiment_unrecognised,
        count(case when sentiment = 'positive' then 1 end) as positive,
        count(case when sentiment = 'neutral' then 1 end) as neutral,
        count(case when sentiment = 'negative' then 1 end) as negative
    from mentions
    group by
        posted_month,
        platform,
        language
)

select
    monthly.month,
    monthly.platform,
    monthly.language,
    months.is_complete,
    monthly.mentions,
    monthly.language_delivered,
    monthly.language_detected,
    monthly.sentiment_delivered,
    monthly.sentiment_scored,
    monthly.sentiment_unscored,
    monthly.sentiment_unrecognised,
    cast(monthly.sentiment_unscored as double) / monthly.mentions as unscored_share,
    monthly.positive,
    monthly.neutral,
    monthly.negative
from monthly
inner join months
    on monthly.month = months.month
order by
    monthly.month,
    monthly.platform,
    monthly.language
