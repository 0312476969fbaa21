"""The generator's customers: latent traits, purchase periods, contact attributes and contacts.

Each customer has a satisfaction ``s ~ N(0, 1)``. Buyers order in a first active period that
ends when they churn (one in three never order again after the first order); some churners
come back more than 90 days later for a second period. A few contacts are registered twice under
one e-mail typed differently, and some buyers are not contacts at all (e-mail only).
"""

from __future__ import annotations

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
    email_variant,
    handle_variant,
    names,
    pick_in_group,
    seasonal_times,
    strs,
    typed,
)

NON_CONTACT_SHARE = 0.05  # buyers known only by the e-mail on their orders
BUYER_SHARE = 0.78  # contacts who ever buy
DUPLICATE_SHARE = 0.02  # contacts registered twice under the same e-mail (case/space differ)
EXISTING_SHARE = 0.20  # contacts created before the history window
ONE_TIME_SHARE = 0.35  # buyers who never order again after their first order
REACTIVATION_SHARE = 0.30  # churners who come back after more than 90 days
ACQUISITION = ("organic", "paid", "referral", "social", "email", "event", None)
ACQUISITION_P = (0.30, 0.22, 0.15, 0.12, 0.10, 0.06, 0.05)
HANDLE_PLATFORMS = 4  # the first four platforms have a handle column on contacts


def draw_people(rng: np.random.Generator, g0: int, n: int, w: Window, t: Tables) -> People:
    """Draw a chunk of customers: traits, purchase periods and contact attributes."""
    g = g0 + np.arange(n)
    locale = choice(rng, lex.LOCALE_WEIGHTS, n)
    s = rng.standard_normal(n)
    is_contact = rng.random(n) >= NON_CONTACT_SHARE
    existing = rng.random(n) < EXISTING_SHARE
    created = np.where(
        existing,
        w.start - rng.random(n) * 730 * DAY,
        seasonal_times(rng, n, w, growth=1.0),
    )
    buyer = ~is_contact | (rng.random(n) < BUYER_SHARE)
    lag = np.where(rng.random(n) < 0.4, rng.random(n) * 3 * HOUR, rng.exponential(30 * DAY, n))
    a1 = created + np.where(is_contact, lag, 0.0)
    one_time = rng.random(n) < ONE_TIME_SHARE
    c1 = a1 + np.where(one_time, 0.0, rng.exponential(300 * DAY * np.exp(0.4 * s)))
    back = buyer & (c1 < w.horizon) & (rng.random(n) < REACTIVATION_SHARE * np.exp(0.3 * s))
    a2 = np.where(back, c1 + 91 * DAY + rng.exponential(150 * DAY, n), np.nan)
    c2 = a2 + rng.exponential(200 * DAY, n)
    monthly = np.minimum(np.exp(np.log(0.45) + 0.7 * rng.standard_normal(n) + 0.25 * s), 8.0)
    log_value = np.log(40.0) + 0.6 * rng.standard_normal(n)
    has_dup = is_contact & (rng.random(n) < DUPLICATE_SHARE)
    attrs = _attributes(rng, g, locale, is_contact, has_dup, t)
    return People(
        n=n,
        s=s,
        locale=locale,
        is_contact=is_contact,
        has_dup=has_dup,
        created=created,
        buyer=buyer,
        a1=a1,
        c1=c1,
        a2=a2,
        c2=c2,
        rate=monthly / MONTH,
        log_value=log_value,
        attrs=attrs,
    )


def _attributes(
    rng: np.random.Generator,
    g: np.ndarray,
    locale: np.ndarray,
    is_contact: np.ndarray,
    has_dup: np.ndarray,
    t: Tables,
) -> pl.DataFrame:
    """Contact ids, normalised e-mail, names, country, phone, source, birth date and handles."""
    n = len(g)
    first, last, first_a, last_a = names(rng, locale, t)
    countries = [(li, c, w) for li, loc in enumerate(lex.LOCALES) for c, w in lex.COUNTRIES[loc]]
    country_code = tuple(c for _, c, _ in countries)
    # Draw a country within the locale: cumulative weights per locale, one uniform per person.
    country_idx = np.empty(n, dtype=np.int64)
    u = rng.random(n)
    for li in range(len(lex.LOCALES)):
        rows = [i for i, (loc, _, _) in enumerate(countries) if loc == li]
        cum = np.cumsum([countries[i][2] for i in rows])
        mine = locale == li
        country_idx[mine] = np.asarray(rows)[np.searchsorted(cum, u[mine] * cum[-1])]
    domains = [(li, d) for li, loc in enumerate(lex.LOCALES) for d in lex.EMAIL_DOMAINS[loc]]
    domain_tab = pl.DataFrame(domains, schema=["locale", "domain"], orient="row")
    domain = domain_tab["domain"].gather(
        pick_in_group(rng, locale, domain_tab["locale"], len(lex.LOCALES))
    )
    handles_p = np.array([0.30, 0.25, 0.25, 0.12])
    has_handle = rng.random((n, HANDLE_PLATFORMS)) < handles_p
    frame = pl.DataFrame(
        {
            "g": g,
            "first_name": first,
            "last_name": last,
            "fa": first_a.str.replace_all("[^a-z0-9]", ""),
            "la": last_a.str.replace_all("[^a-z0-9]", ""),
            "domain": domain,
            "pattern": rng.integers(0, 3, n),
            "no_email": rng.random(n) < 0.02,
            "is_contact": is_contact,
            "has_dup": has_dup,
            "country": strs(country_code, country_idx),
            "no_country": rng.random(n) < 0.03,
            "language": strs(lex.LOCALES, locale),
            "no_language": rng.random(n) < 0.05,
            "phone_digits": rng.integers(0, 10**8, n),
            "no_phone": rng.random(n) < 0.3,
            "source": strs(ACQUISITION, choice(rng, ACQUISITION_P, n)),
            "birth": rng.integers(-7305, 13149, n),  # 1950-01-01 .. 2005-12-31 in epoch days
            "no_birth": rng.random(n) < 0.4,
            **{f"h{j}": has_handle[:, j] for j in range(HANDLE_PLATFORMS)},
        }
    )
    g_txt = pl.col("g").cast(pl.String)
    local = (
        pl.when(pl.col("pattern") == 0)
        .then(pl.col("fa") + "." + pl.col("la") + g_txt)
        .when(pl.col("pattern") == 1)
        .then(pl.col("fa").str.slice(0, 1) + pl.col("la") + g_txt)
        .otherwise(pl.col("la") + "." + pl.col("fa") + g_txt)
    )
    email = (
        pl.when(pl.col("no_email") & pl.col("is_contact"))
        .then(None)
        .otherwise(local + "@" + pl.col("domain"))
    )
    prefix = pl.col("country").replace_strict(lex.PHONE_PREFIX, default="+00 ")
    contact = pl.col("is_contact")
    handle_text = (
        pl.col("fa") + "_" + pl.col("la") + g_txt,
        pl.col("fa") + "." + pl.col("la") + "." + g_txt,
        pl.col("fa") + "." + pl.col("la") + g_txt,
        pl.col("fa") + "-" + pl.col("la") + "-" + g_txt,
    )
    handle_cols = ("twitter_handle", "facebook_handle", "instagram_handle", "linkedin_handle")
    return frame.select(
        pl.when(contact)
        .then("C" + (pl.col("g") + 100_000_000).cast(pl.String))
        .alias("contact_id"),
        pl.when(pl.col("has_dup"))
        .then("C" + (pl.col("g") + 500_000_000).cast(pl.String))
        .alias("dup_contact_id"),
        email.alias("email"),
        "first_name",
        "last_name",
        (pl.col("fa") + " " + pl.col("la")).alias("ascii_name"),
        pl.when("no_phone")
        .then(None)
        .otherwise(prefix + pl.col("phone_digits").cast(pl.String).str.zfill(8))
        .alias("phone"),
        pl.when("no_country").then(None).otherwise("country").alias("country"),
        pl.when("no_language").then(None).otherwise("language").alias("language"),
        pl.col("source").alias("acquisition_source"),
        pl.when("no_birth").then(None).otherwise(pl.col("birth").cast(pl.Date)).alias("birth_date"),
        *(
            pl.when(contact & pl.col(f"h{j}")).then(handle_text[j]).alias(handle_cols[j])
            for j in range(HANDLE_PLATFORMS)
        ),
    )


def contacts(rng: np.random.Generator, p: People, w: Window) -> Versions:
    """Contact rows: one per contact, plus a second record for the customers registered twice."""
    ent = ENTITIES["contacts"]
    idx = np.flatnonzero(p.is_contact)
    dup = np.flatnonzero(p.has_dup)
    m, d = len(idx), len(dup)
    a = p.attrs
    updated = np.minimum(p.created[idx] + rng.exponential(60 * DAY, m), w.horizon)
    updated = np.maximum(updated, p.created[idx])
    at, capital = rng.random((m, 2)).T
    shown = a[idx].with_columns(
        pl.Series("at", at < 0.4),
        pl.Series("capital", capital < 0.2),
        pl.Series("email_case", rng.random(m) < 0.08),
    )
    handles = ("twitter_handle", "facebook_handle", "instagram_handle", "linkedin_handle")
    at_sign = ("twitter_handle", "instagram_handle")  # where people write handles with "@"
    shown = shown.with_columns(
        *(
            handle_variant(pl.col(h), pl.col("at") & (h in at_sign), pl.col("capital")).alias(h)
            for h in handles
        ),
        pl.when("email_case")
        .then(email_variant(pl.col("email"), pl.lit(0)))
        .otherwise("email")
        .alias("email"),
    )
    cols: dict[str, pl.Series | np.ndarray] = {
        c: shown[c]
        for c in ent.columns
        if c not in ("created_at", "updated_at") and c in shown.columns
    }
    cols["created_at"] = p.created[idx]
    cols["updated_at"] = updated
    primary = typed(ent, cols)
    # The second record: same person, same address typed differently, created later.
    dup_created = np.minimum(p.created[dup] + rng.uniform(10, 400, d) * DAY, w.horizon - HOUR)
    second = typed(
        ent,
        {
            "contact_id": a["dup_contact_id"].gather(dup),
            "email": pl.select(
                email_variant(pl.lit(a["email"].gather(dup)), pl.lit(rng.integers(0, 4, d)))
            ).to_series(),
            "first_name": a["first_name"].gather(dup),
            "last_name": a["last_name"].gather(dup),
            "country": a["country"].gather(dup),
            "language": a["language"].gather(dup),
            "acquisition_source": strs(ACQUISITION, choice(rng, ACQUISITION_P, d)),
            "created_at": dup_created,
            "updated_at": dup_created,
        },
    )
    final = pl.concat([primary, second])
    # Earlier versions in the main file: an old phone number, replaced in the delta delivery.
    changed = np.concatenate([(rng.random(m) < 0.03) & (updated > p.created[idx] + DAY), [0] * d])
    changed = changed.astype(bool)
    repeat = ~changed & (rng.random(m + d) < 0.005)
    old_digits = pl.Series(rng.integers(0, 10**6, m + d)).cast(pl.String).str.zfill(6)
    base = final.with_columns(
        pl.when(pl.Series(changed))
        .then(pl.col("phone").str.head(-6) + old_digits)
        .otherwise("phone")
        .alias("phone"),
        pl.when(pl.Series(changed)).then("created_at").otherwise("updated_at").alias("updated_at"),
    )
    return Versions(final=final, base=base, delta=final.filter(pl.Series(changed | repeat)))
