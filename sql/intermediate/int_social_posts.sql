-- The social posts as posted: every post of stg_social_mentions once (docs/open-rules.md R13),
-- the brand's own posts still among them. Both int_brand_posts and int_social_mentions read
-- this, so the rule of a post delivered under two keys is written here only: were it applied
-- to the mentions alone, a brand's post delivered under two keys would be counted twice in the
-- run summary (int_brand_posts).
with delivered as (
    select
        mention_id,
        platform,
        author_handle,
        language,
        posted_at,
        unrecognised_sentiment,
        brand_replied_at,
        url,
        _source_file,
        _row_number
    from stg_social_mentions
),

-- One post delivered twice under two keys: a listening export keys a mention by the tool's
-- Mention Id, or by its URL when the export has no such column or cell (social_listening.toml),
-- so the same post in two exports had two keys and counted twice. A post keyed by its URL
-- is dropped when a post keyed otherwise carries that URL on the same network by the same
-- author; posts keyed by their ids are never merged (a forum thread's URL may be shared).
keyed_by_id as (
    select distinct
        url,
        platform,
        author_handle
    from delivered
    where url is not null
        and mention_id <> url
)

select
    delivered.mention_id,
    delivered.platform,
    delivered.author_handle,
    delivered.language,
    delivered.posted_at,
    delivered.unrecognised_sentiment,
    delivered.brand_replied_at,
    delivered.url,
    delivered._source_file,
    delivered._row_number
from delivered
left join keyed_by_id
    on delivered.mention_id = keyed_by_id.url
    and delivered.platform = keyed_by_id.platform
    and delivered.author_handle = keyed_by_id.author_handle
where keyed_by_id.url is null
