-- One row per social mention: the first delivered copy of each mention_id (immutable), with the
-- author handle lower case without a leading '@'.
with source as (
    select
        mention_id,
        platform,
        author_handle,
        author_name,
        text,
        language,
        posted_at,
        sentiment,
        brand_replied_at,
        url,
        _source_file,
        _row_number,
        _delivery_seq
    from raw_social_mentions
),

ranked as (
    select
        *,
        row_number() over (
            partition by mention_id
            order by _delivery_seq, _row_number
        ) as copy_rank
    from source
)

select
    mention_id,
    lower(trim(platform)) as platform,
    nullif(regexp_replace(lower(trim(author_handle)), '^@', ''), '') as author_handle,
    author_name,
    text,
    nullif(lower(trim(language)), '') as language,
    posted_at,
    nullif(lower(trim(sentiment)), '') as sentiment,
    brand_replied_at,
    url,
    _source_file,
    _row_number,
    _delivery_seq
from ranked
where copy_rank = 1
