-- One row per social mention: the first delivered copy of each mention_id (immutable), with the
-- author handle lower case without a leading '@'. platform reaches a mart, so personal data in it
-- is masked as in stg_email_events (pipeline.pii.EMAIL / PHONE; docs/operations.md).
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
    regexp_replace(
        regexp_replace(
            lower(trim(platform)),
            '(?i)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]*[\[(<{][ \t\xa0]*at[ \t\xa0]*[\])>}][ \t\xa0]*(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*(?:[ \t\xa0]*[\[(<{][ \t\xa0]*dot[ \t\xa0]*[\])>}][ \t\xa0]*|\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}|(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:(?:\.|[ \t\xa0]+dot[ \t\xa0]+)(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]+at[ \t\xa0]+(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+(?:[ \t\xa0]+dot[ \t\xa0]+(?:[A-Za-z0-9_%+-]|[^\x00-\x7F\xa0])+)*[ \t\xa0]+dot[ \t\xa0]+(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}|(?:[A-Za-z0-9._%+-]|[^\x00-\x7F\xa0])+@(?:[A-Za-z0-9-]|[^\x00-\x7F\xa0])+(?:\.(?:[A-Za-z0-9-]|[^\x00-\x7F\xa0])+)*\.(?:[A-Za-z]|[^\x00-\x7F\xa0]){2,}',
            '[email]',
            'g'
        ),
        '\+[0-9]{1,3}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .()-]?[0-9]){6,}|(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}|0[0-9]{2,4}[ /-](?:[0-9]{6,}|[0-9]{3,4}[ -][0-9]{3,4})|0[1-9](?:[ .][0-9]{2}){4}',
        '[phone]',
        'g'
    ) as platform,
    -- Lower case without a leading '@'; a link to the author's profile on the mention's
    -- network is its handle (the same patterns as in stg_contacts).
    nullif(
        regexp_replace(
            case lower(trim(platform))
                when 'twitter' then coalesce(nullif(regexp_extract(replace(replace(lower(trim(author_handle)), 'ς', 'σ'), 'i̇', 'i'), '^(?:https?://)?(?:www\.|mobile\.|m\.)?(?:twitter|x)\.com/@?([^/?#]+)/?(?:[?#].*)?$', 1), ''), replace(replace(lower(trim(author_handle)), 'ς', 'σ'), 'i̇', 'i'))
                when 'facebook' then
                    case
                        when replace(replace(lower(trim(author_handle)), 'ς', 'σ'), 'i̇', 'i') like '%profile.php%' then replace(replace(lower(trim(author_handle)), 'ς', 'σ'), 'i̇', 'i')
                        else coalesce(nullif(regexp_extract(replace(replace(lower(trim(author_handle)), 'ς', 'σ'), 'i̇', 'i'), '^(?:https?://)?(?:www\.|m\.|web\.)?(?:facebook|fb)\.com/([^/?#]+)/?(?:[?#].*)?$', 1), ''), replace(replace(lower(trim(author_handle)), 'ς', 'σ'), 'i̇', 'i'))
                    end
                when 'instagram' then coalesce(nullif(regexp_extract(replace(replace(lower(trim(author_handle)), 'ς', 'σ'), 'i̇', 'i'), '^(?:https?://)?(?:www\.)?instagram\.com/([^/?#]+)/?(?:[?#].*)?$', 1), ''), replace(replace(lower(trim(author_handle)), 'ς', 'σ'), 'i̇', 'i'))
                when 'linkedin' then coalesce(nullif(regexp_extract(replace(replace(lower(trim(author_handle)), 'ς', 'σ'), 'i̇', 'i'), '^(?:https?://)?(?:[a-z]{2,3}\.)?linkedin\.com/(?:in|company)/([^/?#]+)/?(?:[?#].*)?$', 1), ''), replace(replace(lower(trim(author_handle)), 'ς', 'σ'), 'i̇', 'i'))
                else replace(replace(lower(trim(author_handle)), 'ς', 'σ'), 'i̇', 'i')
            end,
            '^@',
            ''
        ),
        ''
    ) as author_handle,
    author_name,
    text,
    -- A language code or nothing: free text here (a name, an address) would reach a mart.
    -- A region follows a hyphen (BCP 47: en-US) or an underscore (locales: en_US).
    case
        when regexp_matches(lower(trim(language)), '^[a-z]{2,3}([-_][a-z0-9]{2,8})?$')
            then lower(trim(language))
    end as language,
    posted_at,
    -- Ingestion lands one of the three lower case; another label as delivered (pipeline/
    -- entities.py, open_enums). Such a label is no sentiment here, so the mention is scored as
    -- one delivered without, and is kept apart to be counted (social_monthly.
    -- sentiment_unrecognised), never read as a sentiment: compared as landed, since lower()
    -- would read 'posİtive' (a Turkish dotted I) as 'positive'.
    case
        when sentiment in ('positive', 'neutral', 'negative') then sentiment
    end as sentiment,
    case
        when sentiment not in ('positive', 'neutral', 'negative') then nullif(sentiment, '')
    end as unrecognised_sentiment,
    brand_replied_at,
    url,
    _source_file,
    _row_number,
    _delivery_seq
from ranked
where copy_rank = 1
