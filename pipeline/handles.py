"""A social handle as the models compare it, for handles that come from a setting rather than an
export: the brand's own accounts (``PIPELINE_BRAND_HANDLES``, docs/open-rules.md R15).

A mention's author is normalised twice over before a model compares it: at ingestion (the
identity text rule, docs/open-rules.md R14: no white space or invisible characters at its ends,
Unicode NFC) and in ``stg_social_mentions`` (lower case, final sigma as sigma, a link to the
author's profile on the mention's network as its handle, R12, and no leading ``@``). A handle
written in a setting takes the same steps here, so that ``@United``, ``united`` and
``https://twitter.com/United`` name one account; tests/test_brand_posts.py lands each way of
writing a handle as a mention's author and compares the two.
"""

from __future__ import annotations

import re
import unicodedata

from pipeline.entities import ENTITIES, IDENTITY_EDGES

# The platforms a mention may name (contracts.md, social/mentions).
PLATFORMS: tuple[str, ...] = ENTITIES["social_mentions"].enums["platform"]

# A link to a profile on each network, whose one group is the handle: the patterns of
# stg_social_mentions.sql and stg_contacts.sql (docs/open-rules.md R12).
PROFILE_LINKS: dict[str, re.Pattern[str]] = {
    "twitter": re.compile(
        r"^(?:https?://)?(?:www\.|mobile\.|m\.)?(?:twitter|x)\.com/@?([^/?#]+)/?(?:[?#].*)?$"
    ),
    "facebook": re.compile(
        r"^(?:https?://)?(?:www\.|m\.|web\.)?(?:facebook|fb)\.com/([^/?#]+)/?(?:[?#].*)?$"
    ),
    "instagram": re.compile(r"^(?:https?://)?(?:www\.)?instagram\.com/([^/?#]+)/?(?:[?#].*)?$"),
    "linkedin": re.compile(
        r"^(?:https?://)?(?:[a-z]{2,3}\.)?linkedin\.com/(?:in|company)/([^/?#]+)/?(?:[?#].*)?$"
    ),
}


def normal_handle(platform: str, text: str) -> str | None:
    """``text`` as ``stg_social_mentions.author_handle`` holds it for a mention on
    ``platform`` (one of :data:`PLATFORMS`); None when nothing is left."""
    handle = unicodedata.normalize("NFC", text.strip(IDENTITY_EDGES)).strip(" ")
    # DuckDB's lower() as R14 reads it: a final sigma is a sigma, i + U+0307 is i.
    handle = handle.lower().replace("ς", "σ").replace("i\u0307", "i")
    link = PROFILE_LINKS.get(platform)
    # Facebook's numbered profile.php?id=… names no handle: it stays as written.
    if link is not None and not (platform == "facebook" and "profile.php" in handle):
        found = link.match(handle)
        if found and found.group(1):
            handle = found.group(1)
    return handle.removeprefix("@") or None
