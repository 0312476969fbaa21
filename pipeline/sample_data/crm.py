"""The generator's orders, support tickets and survey responses.

Orders follow each customer's active periods with seasonal peaks and lognormal values; tickets
come after orders or out of the blue, more often from unhappy customers, and are mostly answered
within a day; CSAT and CES follow solved tickets, NPS comes now and then. Scores follow the
customer's satisfaction and how the ticket went.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.entities import ENTITIES
from pipeline.sample_data import lexicon as lex
from pipeline.sample_data.base import (
    DAY,
    HOUR,
    MONTH,
    SEASON,
    People,
    Tables,
    Versions,
    Window,
    choice,
    hour_of_day,
    ids,
    money,
    month_of_year,
    null_where,
    pick_in_group,
    strs,
    ts,
    typed,
    who,
)

CHANNELS = ("email", "phone", "chat", "web", "social")
CHANNELS_P = (0.35, 0.15, 0.25, 0.20, 0.05)
CATEGORIES = ("question", "complaint", "incident", "request", "other")
CATEGORIES_P = (0.35, 0.13, 0.15, 0.27, 0.10)


def orders(
    rng: np.random.Generator, stream: int, p: People, w: Window
) -> tuple[Versions, np.ndarray, np.ndarray]:
    """Orders of the chunk; also each order's customer and time, for tickets."""
    ent = ENTITIES["orders"]
    buyers = np.flatnonzero(p.buyer)
    back = buyers[np.isfinite(p.a2[buyers])]
    smax = SEASON.max()
    # Repeat orders: Poisson in each active period, thinned by the season (Nov/Dec peaks).
    parts_c, parts_t = [buyers, back], [p.a1[buyers], p.a2[back]]
    for members, start, end in ((buyers, p.a1, p.c1), (back, p.a2, p.c2)):
        length = end[members] - start[members]
        count = rng.poisson(p.rate[members] * length * smax)
        c = np.repeat(members, count)
        t = start[c] + rng.random(len(c)) * length[np.repeat(np.arange(len(members)), count)]
        keep = rng.random(len(c)) < SEASON[month_of_year(t)] / smax
        parts_c.append(c[keep])
        parts_t.append(hour_of_day(rng, t[keep]))
    c, t = np.concatenate(parts_c), np.concatenate(parts_t)
    inside = (t >= w.start) & (t < w.horizon)
    c, t = c[inside], t[inside]
    order = np.lexsort((c, t))
    c, t = c[order], t[order]
    m = len(c)

    gross = np.minimum(np.exp(p.log_value[c] + 0.75 * rng.standard_normal(m)), 20_000)
    gross_c = np.maximum(np.round(gross * 100), 100)
    recent = (w.as_of_end - t) < 10 * DAY
    p_pending = np.where(recent, 0.30, 0.004)
    p_refund = 0.05 * np.where(p.s[c] < -1, 1.6, 1.0)
    u = rng.random(m)
    status = np.select(
        [u < p_pending, u < p_pending + 0.05, u < p_pending + 0.05 + p_refund],
        [1, 2, 3],
        default=0,
    )  # 0 completed, 1 pending, 2 cancelled, 3 refunded
    disc_u = rng.random(m)
    disc_c = np.select(
        [disc_u < 0.002, disc_u < 0.032, disc_u < 0.28],
        [gross_c, np.minimum(1000, gross_c), np.round(gross_c * rng.uniform(0.05, 0.3, m))],
        default=0,
    )
    payable = gross_c - disc_c
    partial = np.round(payable * rng.uniform(0.1, 0.7, m))
    full = rng.random(m) < 0.55
    refund_c = np.where(status == 3, np.where(full, payable, partial), 0)
    refund_c = np.where((status == 0) & (rng.random(m) < 0.01), partial, refund_c)
    delay = np.select(
        [status == 0, status == 1, status == 2],
        [
            rng.uniform(1, 6, m) * DAY,
            rng.uniform(60, 1800, m),
            rng.uniform(0.2, 48, m) * HOUR,
        ],
        default=rng.uniform(5, 40, m) * DAY,
    )
    updated = np.maximum(np.minimum(t + delay, w.horizon), t)
    status_names = ("completed", "pending", "cancelled", "refunded")
    contact_id, email = who(rng, p, c, email_only=0.05, id_only=0.25)
    currency = null_where(pl.Series(["EUR"] * m, dtype=pl.String), rng.random(m) < 0.02)
    cols = {
        "order_id": ids("SO", stream, m),
        "contact_id": contact_id,
        "email": email,
        "ordered_at": t,
        "status": strs(status_names, status),
        "currency": currency,
        "gross_amount": money(gross_c),
        "discount_amount": money(disc_c),
        "refund_amount": money(refund_c),
        "updated_at": updated,
    }
    final = typed(ent, cols)
    # Earlier versions in the main file: pending before it completed or was cancelled, and
    # completed before the refund; the delta delivery carries the final version.
    changed = (status != 1) & (updated > t + 2 * HOUR) & (rng.random(m) < 0.06)
    repeat = ~changed & (rng.random(m) < 0.01)
    early = np.where(status == 3, t + rng.uniform(1, 3, m) * DAY, t + rng.uniform(60, 1800, m))
    early = np.minimum(early, updated - 60)
    base_status = np.where(changed, np.where(status == 3, 0, 1), status)
    base = final.with_columns(
        strs(status_names, base_status).alias("status"),
        money(np.where(changed, 0, refund_c)).alias("refund_amount"),
        ts(np.where(changed, early, updated)).alias("updated_at"),
    )
    versions = Versions(final=final, base=base, delta=final.filter(pl.Series(changed | repeat)))
    return versions, c, t


@dataclass(frozen=True)
class _TicketInfo:
    """What surveys need to know about the chunk's solved tickets."""

    c: np.ndarray
    ticket_id: pl.Series
    solved_at: np.ndarray
    late: np.ndarray
    complaint: np.ndarray
    replies: np.ndarray
    reopens: np.ndarray


def tickets(
    rng: np.random.Generator,
    stream: int,
    p: People,
    w: Window,
    order_c: np.ndarray,
    order_t: np.ndarray,
) -> tuple[Versions, _TicketInfo]:
    """Support tickets: after orders and out of the blue, more for unhappy customers."""
    ent = ENTITIES["tickets"]
    n = p.n
    known_from = np.maximum(np.where(p.is_contact, p.created, p.a1), w.start)
    months = np.maximum(w.horizon - known_from, 0) / MONTH
    orders_per = np.bincount(order_c, minlength=n)
    unhappy = np.exp(-0.45 * p.s)
    # Tickets about an order: a few days after a random order of the customer.
    k_order = rng.poisson(0.12 * orders_per * unhappy)
    c1 = np.repeat(np.arange(n), k_order)
    by_customer = np.argsort(order_c, kind="stable")
    first = np.concatenate([[0], np.cumsum(orders_per)[:-1]])
    pick = by_customer[first[c1] + (rng.random(len(c1)) * orders_per[c1]).astype(np.int64)]
    t1 = order_t[pick] + HOUR + rng.exponential(4 * DAY, len(c1))
    # Other tickets: any time the customer is known.
    k_other = rng.poisson(0.03 * months * unhappy * (p.is_contact | p.buyer))
    c2 = np.repeat(np.arange(n), k_other)
    t2 = known_from[c2] + rng.random(len(c2)) * (w.horizon - known_from[c2])
    c, t = np.concatenate([c1, c2]), np.concatenate([t1, t2])
    inside = (t >= w.start) & (t < w.horizon)
    c, t = c[inside], t[inside]
    order = np.lexsort((c, t))
    c, t = c[order], t[order]
    m = len(c)

    channel = choice(rng, CHANNELS_P, m)
    category = choice(rng, CATEGORIES_P, m)
    category = np.where((p.s[c] < -0.8) & (rng.random(m) < 0.25), 1, category)
    complaint = category == 1
    fast = (channel == 1) | (channel == 2)  # phone and chat are answered sooner
    wait = rng.lognormal(np.log(3.0), 1.5, m) * HOUR / np.where(fast, 6, 1)
    first_response = t + wait
    age = w.horizon - t
    unanswered = (rng.random(m) < np.where(age < DAY, 0.5, 0.05)) | (first_response >= w.horizon)
    first_response = np.where(unanswered, np.nan, first_response)
    solved_at = first_response + rng.lognormal(np.log(18.0), 1.3, m) * HOUR
    solved = ~unanswered & (solved_at < w.horizon) & (rng.random(m) >= 0.03)
    # A few unanswered tickets are closed as spam without a reply.
    spam = unanswered & (age > 3 * DAY) & (rng.random(m) < 0.04)
    solved_at = np.where(spam, t + rng.uniform(1, 72, m) * HOUR, solved_at)
    solved_at = np.where(solved | spam, solved_at, np.nan)
    reopens = np.where(solved, choice(rng, (0.88, 0.09, 0.03), m), 0)
    reopens = np.where(~solved & ~unanswered & (rng.random(m) < 0.1), 1, reopens)
    replies = np.where(unanswered, 0, 1 + rng.poisson(0.8 + 0.6 * complaint, m) + reopens).astype(
        np.int64
    )
    waiting = ~solved & ~spam
    status = np.select(
        [unanswered & waiting, waiting, solved & (solved_at + 4 * DAY < w.horizon)],
        [np.where(rng.random(m) < 0.6, 0, 1), np.where(rng.random(m) < 0.5, 1, 2), 4],
        default=np.where(spam, 4, 3),
    )  # 0 new, 1 open, 2 pending, 3 solved, 4 closed
    last_touch = np.fmax(np.fmax(t, first_response), solved_at)
    updated = np.minimum(last_touch + rng.uniform(60, 2 * HOUR, m), w.horizon)
    updated = np.maximum(updated, t)
    status_names = ("new", "open", "pending", "solved", "closed")
    ticket_id = ids("T", stream, m)
    contact_id, email = who(rng, p, c, email_only=0.10, id_only=0.30)
    final = typed(
        ent,
        {
            "ticket_id": ticket_id,
            "contact_id": contact_id,
            "email": email,
            "created_at": t,
            "channel": strs(CHANNELS, channel),
            "category": strs(CATEGORIES, category),
            "status": strs(status_names, status),
            "first_response_at": first_response,
            "solved_at": solved_at,
            "agent_replies": replies,
            "reopens": reopens,
            "updated_at": updated,
        },
    )
    # Earlier versions in the main file: still open (or solved before a reopen).
    changed = solved & (rng.random(m) < 0.08)
    repeat = ~changed & (rng.random(m) < 0.01)
    halfway = first_response + 0.5 * (solved_at - first_response)
    was_reopened = changed & (reopens > 0)
    base = final.with_columns(
        strs(status_names, np.where(changed, np.where(was_reopened, 3, 1), status)).alias("status"),
        ts(np.where(changed, np.where(was_reopened, halfway, np.nan), solved_at)).alias(
            "solved_at"
        ),
        pl.Series(np.where(changed, np.maximum(1, replies - 1 - reopens), replies))
        .cast(pl.Int32)
        .alias("agent_replies"),
        pl.Series(np.where(changed, 0, reopens)).cast(pl.Int32).alias("reopens"),
        ts(np.where(changed, halfway, updated)).alias("updated_at"),
    )
    late = ~unanswered & (first_response - t > 24 * HOUR)
    info = _TicketInfo(
        c=c[solved],
        ticket_id=ticket_id.filter(pl.Series(solved)),
        solved_at=solved_at[solved],
        late=late[solved],
        complaint=complaint[solved],
        replies=replies[solved],
        reopens=reopens[solved],
    )
    versions = Versions(final=final, base=base, delta=final.filter(pl.Series(changed | repeat)))
    return versions, info


def surveys(
    rng: np.random.Generator, stream: int, p: People, w: Window, t: Tables, tk: _TicketInfo
) -> Versions:
    """NPS now and then; CSAT and CES after solved tickets; scores follow satisfaction."""
    ent = ENTITIES["surveys"]
    n = p.n
    known_from = np.maximum(np.where(p.is_contact, p.created, p.a1), w.start)
    years = np.maximum(w.horizon - known_from, 0) / (365.25 * DAY)
    k = rng.poisson(0.5 * years * (p.is_contact | p.buyer))
    nps_c = np.repeat(np.arange(n), k)
    nps_t = known_from[nps_c] + rng.random(len(nps_c)) * (w.horizon - known_from[nps_c])
    nps = np.clip(np.round(8.4 + 2.0 * p.s[nps_c] + 1.6 * rng.standard_normal(len(nps_c))), 0, 10)

    nt = len(tk.c)
    csat_pick = rng.random(nt) < 0.35
    ces_pick = rng.random(nt) < 0.15
    after = tk.solved_at + rng.exponential(20 * HOUR, nt)
    s_t = p.s[tk.c]
    csat = np.clip(
        np.round(
            4.4
            + 0.9 * s_t
            + 0.9 * rng.standard_normal(nt)
            - 0.9 * tk.late
            - 0.6 * tk.complaint
            - 0.5 * (tk.reopens > 0)
        ),
        1,
        5,
    )
    ces = np.clip(
        np.round(
            5.4 + 1.1 * s_t + 1.2 * rng.standard_normal(nt) - 0.8 * (tk.replies > 2) - 0.8 * tk.late
        ),
        1,
        7,
    )
    c = np.concatenate([nps_c, tk.c[csat_pick], tk.c[ces_pick]])
    when = np.concatenate([nps_t, after[csat_pick], after[ces_pick]])
    kind = np.concatenate(
        [np.zeros(len(nps_c)), np.ones(csat_pick.sum()), np.full(ces_pick.sum(), 2)]
    ).astype(np.int64)
    score = np.concatenate([nps, csat[csat_pick], ces[ces_pick]]).astype(np.int64)
    ticket = pl.concat(
        [
            pl.Series([None] * len(nps_c), dtype=pl.String),
            tk.ticket_id.filter(pl.Series(csat_pick)),
            tk.ticket_id.filter(pl.Series(ces_pick)),
        ]
    )
    inside = when < w.horizon
    order = np.lexsort((c[inside], when[inside]))
    keep = np.flatnonzero(inside)[order]
    c, when, kind, score = c[keep], when[keep], kind[keep], score[keep]
    ticket = ticket.gather(keep)
    m = len(c)
    # Tone of the comment from the score: promoter / satisfied / easy is positive.
    pos = np.select([kind == 0, kind == 1], [score >= 9, score >= 4], default=score >= 6)
    neg = np.select([kind == 0, kind == 1], [score <= 6, score <= 2], default=score <= 3)
    tone = np.where(pos, 0, np.where(neg, 2, 1))
    language = np.where(rng.random(m) < 0.85, p.locale[c], 0)
    text_row = pick_in_group(rng, language * 3 + tone, t.comments["group"], len(lex.LOCALES) * 3)
    comment = null_where(t.comments["text"].gather(text_row), rng.random(m) >= 0.35)
    ticket = null_where(ticket, rng.random(m) < 0.05)
    contact_id, email = who(rng, p, c, email_only=0.10, id_only=0.30)
    final = typed(
        ent,
        {
            "response_id": ids("R", stream, m),
            "contact_id": contact_id,
            "email": email,
            "responded_at": when,
            "survey_type": strs(("nps", "csat", "ces"), kind),
            "score": score,
            "comment": comment,
            "ticket_id": ticket,
        },
    )
    repeat = rng.random(m) < 0.005
    return Versions(final=final, base=final, delta=final.filter(pl.Series(repeat)))
