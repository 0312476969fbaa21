-- Social mentions posted on or before as_of, with their final language and sentiment (delivered,
-- else detected / scored: int_mention_sentiment) and the customer they link to: by (platform, normalised handle) to the
-- contact holding that handle (the oldest if several), then onto the customer that contact
-- merged into. 'blog' and 'other' never link. A brand reply after as_of is no reply. A post
-- delivered once under the tool's id and once under its URL counts once (int_social_posts,
-- docs/open-rules.md R13). The brand's own posts are no mentions and are left out
-- (int_brand_posts; R15).
with settings as (
    select
        as_of_end
    from pipeline_settings
),

posts as (
    select
        mention_id,
        platform,
        author_handle,
        language,
        posted_at,
        unrecognised_sentiment,
        brand_replied_at
    from int_social_posts
),

-- A post by one of the brand's own accounts is not one about the brand: left out here, so that
-- it counts in no social figure, is no dissatisfaction signal and links to no customer.
brand_posts as (
    select
        mention_id
    from int_brand_posts
),

mentions as (
    select
        posts.mention_id,
        posts.platform,
        posts.author_handle,
        posts.language,
        posts.posted_at,
        posts.unrecognised_sentiment,
        posts.brand_replied_at
    from posts
    left join brand_posts
        on posts.mention_id = brand_posts.mention_id
    where brand_posts.mention_id is null
),

sentiments as (
    select
        mention_id,
        sentiment,
        sentiment_source,
        language,
        language_source
    from int_mention_sentiment
),

contacts as (
    select
        contact_id,
        customer_contact_id,
        created_at,
        twitter_handle,
        facebook_handle,
        instagram_handle,
        linkedin_handle
    from int_contacts
),

customers as (
    select
        customer_id,
        natural_key
    from int_customers
),

contact_handles as (
    select
        'twitter' as platform,
        twitter_handle as handle,
        customer_contact_id,
        created_at,
        contact_id
    from contacts
    where twitter_handle is not null
    union all
    select
        'facebook' as platform,
        facebook_handle as handle,
        customer_contact_id,
        created_at,
        contact_id
    from contacts
    where facebook_handle is not null
    union all
    select
        'instagram' as platform,
        instagram_handle as handle,
        customer_contact_id,
        created_at,
        contact_id
    from contacts
    where instagram_handle is not null
    union all
    select
        'linkedin' as platform,
        linkedin_handle as handle,
        customer_contact_id,
        created_at,
        contact_id
    from contacts
    where linkedin_handle is not null
),

handle_owners as (
    select
        platform,
        handle,
        customer_contact_id,
        row_number() over (
            partition by platform, handle
            order by created_at, contact_id
        ) as owner_rank
    from contact_handles
),

posted as (
    select
        mentions.mention_id,
        mentions.platform,
        mentions.author_handle,
        mentions.language,
        mentions.posted_at,
        mentions.unrecognised_sentiment,
        case
            when mentions.brand_replied_at < settings.as_of_end then mentions.brand_replied_at
        end as brand_replied_at
    from mentions
    cross join settings
    where mentions.posted_at < settings.as_of_end
)

select
    posted.mention_id,
    customers.customer_id,
    posted.platform,
    posted.author_handle,
    coalesce(sentiments.language, posted.language) as language,
    coalesce(sentiments.language_source, 'unknown') as language_source,
    posted.posted_at,
    cast(posted.posted_at as date) as posted_date,
    cast(date_trunc('month', posted.posted_at) as date) as posted_month,
    sentiments.sentiment,
    sentiments.sentiment_source,
    posted.unrecognised_sentiment,
    posted.brand_replied_at,
    (epoch(posted.brand_replied_at) - epoch(posted.posted_at)) / 60.0 as response_minutes
from posted
left join sentiments
    on posted.mention_id = sentiments.mention_id
left join handle_owners
    on posted.platform = handle_owners.platform
    and posted.author_handle = handle_owners.handle
    and handle_owners.owner_rank = 1
left join customers
    on 'contact:' || handle_owners.customer_contact_id = customers.natural_key
