-- The brand's own posts: mentions posted on or before as_of by one of the brand's accounts
-- (PIPELINE_BRAND_HANDLES, which the pipeline_settings asset writes to meta.brand_handles, each
-- handle normalised as an author's is: docs/open-rules.md R15). A social mention is a post about
-- the brand (contracts.md), but a listening export also holds the brand's own replies and
-- announcements: int_social_mentions leaves these out, so that none counts in a social figure
-- or links to a customer, and the run summary counts them here. They stay landed (raw and
-- stg_social_mentions). A post delivered under its tool id and under its URL is one post (R13:
-- int_social_posts holds each post once).
with settings as (
    select
        as_of_end
    from pipeline_settings
),

handles as (
    select
        platform,
        handle
    from brand_handles
),

posts as (
    select
        mention_id,
        platform,
        author_handle,
        posted_at,
        url,
        _source_file,
        _row_number
    from int_social_posts
)

select
    posts.mention_id,
    posts.platform,
    posts.author_handle,
    posts.posted_at,
    posts.url,
    posts._source_file,
    posts._row_number
from posts
cross join settings
inner join handles
    on posts.platform = handles.platform
    and posts.author_handle = handles.handle
where posts.posted_at < settings.as_of_end
