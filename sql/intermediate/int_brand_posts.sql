-- The brand's own posts: mentions posted on or before as_of by one of the brand's accounts
-- (PIPELINE_BRAND_HANDLES, which the pipeline_settings asset writes to meta.brand_handles, each
-- handle normalised as an author's is: docs/open-rules.md R15). A social mention is a post about
-- the brand (contracts.md), but a listening export also holds the brand's own replies and
-- announcements: int_social_mentions leaves these out, so that none counts in a social figure
-- or links to a customer, and the run summary counts them here. They stay landed (raw and
-- stg_social_mentions). A post delivered under its tool id and under its URL is one post (R13).
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

delivered as (
    select
        mention_id,
        platform,
        author_handle,
        posted_at,
        url,
        _source_file,
        _row_number
    from stg_social_mentions
),

brand_posts as (
    select
        delivered.mention_id,
        delivered.platform,
        delivered.author_handle,
        delivered.posted_at,
        delivered.url,
        delivered._source_file,
        delivered._row_number
    from delivered
    inner join handles
        on delivered.platform = handles.platform
        and delivered.author_handle = handles.handle
),

-- R13 as int_social_mentions applies it: the copy keyed by its URL of a post that is also keyed
-- by the tool's id is the same post. Both copies have one author, so both are brand posts.
keyed_by_id as (
    select distinct
        url,
        platform,
        author_handle
    from brand_posts
    where url is not null
        and mention_id <> url
)

select
    brand_posts.mention_id,
    brand_posts.platform,
    brand_posts.author_handle,
    brand_posts.posted_at,
    brand_posts.url,
    brand_posts._source_file,
    brand_posts._row_number
from brand_posts
cross join settings
left join keyed_by_id
    on brand_posts.mention_id = keyed_by_id.url
    and brand_posts.platform = keyed_by_id.platform
    and brand_posts.author_handle = keyed_by_id.author_handle
where brand_posts.posted_at < settings.as_of_end
    and keyed_by_id.url is null
