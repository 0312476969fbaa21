"""The generator's marketing e-mail events and social mentions.

E-mail: weekly newsletters, monthly offers and seasonal campaigns; each subscriber gets a share
of them, and opens fade in the months before the customer churns. Social: customers with
handles post at a rate that grows with how strongly they feel, in a tone that follows their
satisfaction; strangers, bloggers and forum users post too.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from pipeline.entities import ENTITIES
from pipeline.sample_data import lexicon as lex
from pipeline.sample_data.base import (
    DAY,
    HOUR,
    MONTH,
    People,
    Tables,
    Versions,
    Window,
    choice,
    epoch,
    handle_variant,
    ids,
    names,
    null_where,
    pick_in_group,
    strs,
    typed,
)

# Mean events per (customer, campaign) reception: sent + delivered + opens + clicks + …, measured
# on generated data; it turns email_events_per_month into a reception rate.
EVENTS_PER_RECEPTION = 2.28
PLATFORMS = ("twitter", "facebook", "instagram", "linkedin", "blog", "other")
MENTION_RATE = np.array([0.05, 0.03, 0.04, 0.01])  # mentions per month per handle holder
ANON_PLATFORM_P = (0.40, 0.20, 0.20, 0.05, 0.10, 0.05)


def campaign_calendar(w: Window) -> tuple[np.ndarray, pl.DataFrame]:
    """Weekly newsletters, monthly offers and seasonal campaigns over the window."""
    day = dt.datetime.fromtimestamp(w.start, dt.UTC).date()
    last = dt.datetime.fromtimestamp(w.horizon, dt.UTC).date()
    seasonal = {
        (1, 3): ("new-year-sale", "New year sale {y}"),
        (2, 10): ("valentine", "Valentine's Day gifts {y}"),
        (3, 1): ("martisor", "Mărțișor – spring collection {y}"),
        (7, 1): ("summer-sale", "Summer sale {y}"),
        (8, 25): ("back-to-school", "Back to school {y}"),
        (10, 15): ("herbst", "Herbst-Favoriten – autumn picks {y}"),
        (12, 1): ("gift-guide", "Christmas gift guide {y}"),
        (12, 16): ("last-minute", "Last-minute Christmas – Crăciun fericit! {y}"),
    }
    rows: list[tuple[float, str, str, str]] = []
    while day <= last:
        at = epoch(day)
        found: list[tuple[float, str, str]] = []
        if day.weekday() == 1:
            found.append((8 * HOUR, "newsletter", f"Weekly newsletter – {day:%d %b %Y}"))
        if day.weekday() == 3 and day.day <= 7:
            found.append((10 * HOUR, "offers", f"{day:%B} offers {day.year}"))
        if day.month == 11 and day.weekday() == 4 and 22 <= day.day <= 28:
            found.append((6 * HOUR, "black-friday", f"Black Friday {day.year}"))
        if day.weekday() == 0 and (day - dt.timedelta(days=3)).month == 11:
            if 22 <= (day - dt.timedelta(days=3)).day <= 28:
                found.append((7 * HOUR, "cyber-monday", f"Cyber Monday {day.year}"))
        if (day.month, day.day) in seasonal:
            slug, name = seasonal[(day.month, day.day)]
            found.append((9 * HOUR, slug, name.format(y=day.year)))
        for offset, slug, name in found:
            cid = f"cmp-{day:%Y%m%d}-{slug}"
            url = f"{lex.SHOP_URL}/{slug}?utm_source=email&utm_campaign={cid}"
            rows.append((at + offset, cid, name, url))
        day += dt.timedelta(days=1)
    times = np.array([r[0] for r in rows])
    frame = pl.DataFrame(
        [r[1:] for r in rows], schema=["campaign_id", "campaign_name", "url"], orient="row"
    )
    return times, frame


def email_events(
    rng: np.random.Generator, stream: int, p: People, w: Window, t: Tables, per_month: float
) -> Versions:
    """Campaign sends to subscribers; opens fade as a customer drifts towards churning."""
    ent = ENTITIES["email_events"]
    n = p.n
    has_email = p.attrs["email"].is_not_null().to_numpy()
    opted_in = np.where(p.is_contact, True, rng.random(n) < 0.5)
    subscribed = has_email & opted_in
    sub_start = np.maximum(np.where(p.is_contact, p.created, p.a1), w.start)
    churned = p.buyer & (p.c1 < w.as_of_end) & ~np.isfinite(p.a2)
    leaves = subscribed & (rng.random(n) < 0.04 + 0.10 * churned + 0.05 * (p.s < -1))
    leave_at = np.where(
        churned,
        p.c1 + rng.uniform(-30, 150, n) * DAY,
        sub_start + rng.random(n) * (w.horizon - sub_start),
    )
    leave_at = np.maximum(leave_at, sub_start + 7 * DAY)
    leaves &= leave_at < w.horizon
    sub_end = np.where(leaves, leave_at, w.horizon)
    # Each subscriber gets each campaign of their subscription with the same probability
    # (segmented sends), set so that a subscriber sees about per_month events a month.
    lo = np.searchsorted(t.campaign_time, sub_start)
    hi = np.where(subscribed, np.searchsorted(t.campaign_time, sub_end), lo)
    count = np.maximum(hi - lo, 0)
    c = np.repeat(np.arange(n), count)
    camp = lo[c] + np.arange(len(c)) - np.repeat(np.cumsum(count) - count, count)
    per_campaign = len(t.campaign_time) / ((w.horizon - w.start) / MONTH)
    share = min(1.0, per_month / EVENTS_PER_RECEPTION / per_campaign)
    keep = rng.random(len(c)) < share
    c, camp = c[keep], camp[keep]
    r = len(c)
    last_of_customer = np.ones(r, dtype=bool)
    last_of_customer[:-1] = c[1:] != c[:-1]

    sent = t.campaign_time[camp] + rng.uniform(0, 2 * HOUR, r)
    unsubscribes = last_of_customer & leaves[c]
    bounced = ~unsubscribes & (rng.random(r) < 0.015)
    delivered = sent + rng.uniform(2, 120, r)
    # Engagement: full while buying, fading over the last months before the period ends.
    period_end = np.where(np.isfinite(p.a2[c]) & (sent >= p.a2[c]), p.c2[c], p.c1[c])
    fading = np.clip((period_end + 30 * DAY - sent) / (120 * DAY), 0.1, 1.0)
    engagement = np.where(~p.buyer[c] | (sent < p.a1[c]), 0.6, fading)
    p_open = np.clip(0.50 * engagement * np.exp(0.25 * p.s[c]), 0.01, 0.9)
    opened = ~bounced & (rng.random(r) < p_open)
    open_at = delivered + rng.exponential(5 * HOUR, r)
    reopened = opened & (rng.random(r) < 0.2)
    clicked = opened & (rng.random(r) < 0.22)
    spam = ~bounced & (rng.random(r) < 0.0008 * np.where(p.s[c] < -1, 4, 1))
    parts = [
        (np.ones(r, dtype=bool), sent, 0),
        (~bounced, delivered, 1),
        (opened, open_at, 2),
        (reopened, open_at + rng.exponential(DAY, r), 2),
        (clicked, open_at + 5 + rng.exponential(180, r), 3),
        (bounced, sent + rng.uniform(2, 300, r), 4),
        (unsubscribes, np.where(opened, open_at, delivered) + rng.exponential(12 * HOUR, r), 5),
        (spam, delivered + rng.exponential(8 * HOUR, r), 6),
    ]
    ev_c = np.concatenate([c[mask] for mask, _, _ in parts])
    ev_camp = np.concatenate([camp[mask] for mask, _, _ in parts])
    ev_t = np.concatenate([at[mask] for mask, at, _ in parts])
    ev_type = np.concatenate([np.full(mask.sum(), code) for mask, _, code in parts])
    inside = ev_t < w.horizon
    order = np.lexsort((ev_type[inside], ev_c[inside], ev_t[inside]))
    keep = np.flatnonzero(inside)[order]
    ev_c, ev_camp, ev_t, ev_type = ev_c[keep], ev_camp[keep], ev_t[keep], ev_type[keep]
    m = len(ev_c)
    types = ("sent", "delivered", "open", "click", "bounce", "unsubscribe", "spam_complaint")
    final = typed(
        ent,
        {
            "event_id": null_where(ids("E", stream, m), rng.random(m) < 0.05),
            "email": p.attrs["email"].gather(ev_c),
            "campaign_id": t.campaigns["campaign_id"].gather(ev_camp),
            "campaign_name": null_where(
                t.campaigns["campaign_name"].gather(ev_camp), rng.random(m) < 0.03
            ),
            "event_type": strs(types, ev_type),
            "occurred_at": ev_t,
            "url": null_where(t.campaigns["url"].gather(ev_camp), ev_type != 3),
        },
    )
    repeat = rng.random(m) < 0.005
    return Versions(final=final, base=final, delta=final.filter(pl.Series(repeat)))


def mentions(rng: np.random.Generator, stream: int, p: People, w: Window, t: Tables) -> Versions:
    """Posts by customers with handles (tone follows satisfaction) and by strangers."""
    ent = ENTITIES["social_mentions"]
    n = p.n
    a = p.attrs
    handle_cols = ("twitter_handle", "facebook_handle", "instagram_handle", "linkedin_handle")
    known_from = np.maximum(p.created, w.start)
    months = np.maximum(w.horizon - known_from, 0) / MONTH
    vocal = 0.4 + 0.8 * np.abs(p.s)  # the very happy and the very unhappy post most
    cs, plats = [], []
    for j, col in enumerate(handle_cols):
        has = a[col].is_not_null().to_numpy()
        k = rng.poisson(MENTION_RATE[j] * months * vocal * has)
        cs.append(np.repeat(np.arange(n), k))
        plats.append(np.full(k.sum(), j))
    c = np.concatenate(cs)
    plat = np.concatenate(plats)
    mc = len(c)
    posted_c = known_from[c] + rng.random(mc) * (w.horizon - known_from[c])
    # Strangers: not in the CRM; blogs and forums only come from here.
    na = rng.poisson(0.5 * n)
    plat_a = choice(rng, ANON_PLATFORM_P, na)
    locale_a = choice(rng, lex.LOCALE_WEIGHTS, na)
    first_a, last_a, fa_a, la_a = names(rng, locale_a, t)
    number = pl.Series(rng.integers(1000, 999_999, na)).cast(pl.String)
    anon_handle = pl.select(
        pl.when(pl.Series(plat_a == 4))
        .then(fa_a + la_a + ".blog.example")
        .when(pl.Series(plat_a == 5))
        .then("forum_" + fa_a + number)
        .otherwise(fa_a + "_" + number)
    ).to_series()
    posted_a = w.start + rng.random(na) * (w.horizon - w.start)

    customer_handle = pl.select(
        pl.coalesce(
            *(
                pl.when(pl.Series(plat == j)).then(a[col].gather(c))
                for j, col in enumerate(handle_cols)
            )
        )
    ).to_series()
    author_handle = pl.concat([customer_handle, anon_handle])
    author_name = pl.concat(
        [a["first_name"].gather(c) + " " + a["last_name"].gather(c), first_a + " " + last_a]
    )
    total = mc + na
    platform = np.concatenate([plat, plat_a])
    posted = np.concatenate([posted_c, posted_a])
    mood = np.concatenate([p.s[c], 0.1 + rng.standard_normal(na)])
    locale = np.concatenate([p.locale[c], locale_a])
    z = mood + 0.7 * rng.standard_normal(total)
    tone = np.where(z > 0.6, 0, np.where(z < -0.6, 2, 1))
    language = np.where(rng.random(total) < 0.7, 0, locale)
    text_row = pick_in_group(
        rng, language * 3 + tone, t.mention_texts["group"], len(lex.LOCALES) * 3
    )
    reply_p = np.where(platform >= 4, 0.05, np.array([0.15, 0.2, 0.55])[tone])
    replied = posted + rng.lognormal(np.log(45.0), 1.2, total) * 60
    replied = np.where((rng.random(total) < reply_p) & (replied < w.horizon), replied, np.nan)

    order = np.lexsort((platform, posted))
    platform, posted, tone, language = platform[order], posted[order], tone[order], language[order]
    replied, text_row = replied[order], text_row[order]
    author_handle, author_name = author_handle.gather(order), author_name.gather(order)
    mention_id = ids("M", stream, total)
    shown = pl.DataFrame(
        {
            "handle": author_handle,
            "at": (rng.random(total) < 0.5) & ((platform == 0) | (platform == 2)),
            "capital": rng.random(total) < 0.2,
            "platform": platform,
            "number": mention_id.str.slice(1),
        }
    ).select(
        handle_variant(pl.col("handle"), pl.col("at"), pl.col("capital")).alias("handle"),
        pl.when(pl.col("platform") == 0)
        .then("https://twitter.com/" + pl.col("handle") + "/status/" + pl.col("number"))
        .when(pl.col("platform") == 1)
        .then("https://www.facebook.com/" + pl.col("handle") + "/posts/" + pl.col("number"))
        .when(pl.col("platform") == 2)
        .then("https://www.instagram.com/p/" + pl.col("number"))
        .when(pl.col("platform") == 3)
        .then("https://www.linkedin.com/feed/update/urn:li:activity:" + pl.col("number"))
        .when(pl.col("platform") == 4)
        .then("https://" + pl.col("handle") + "/review-" + pl.col("number"))
        .otherwise("https://forum.example/t/" + pl.col("number"))
        .alias("url"),
    )
    final = typed(
        ent,
        {
            "mention_id": mention_id,
            "platform": strs(PLATFORMS, platform),
            "author_handle": shown["handle"],
            "author_name": author_name,
            "text": t.mention_texts["text"].gather(text_row),
            "language": strs(lex.LOCALES, language),
            "posted_at": posted,
            "sentiment": null_where(strs(lex.TONES, tone), rng.random(total) >= 0.6),
            "brand_replied_at": replied,
            "url": shown["url"],
        },
    )
    repeat = rng.random(total) < 0.005
    return Versions(final=final, base=final, delta=final.filter(pl.Series(repeat)))
