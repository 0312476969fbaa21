"""Vendor exports as the tools write them, landed by the real ingestion and counted by the real
marts, against figures worked out by hand from the vendor's own documentation (as_of 2024-04-30).

HubSpot feedback submissions: HubSpot's own knowledge base ("HubSpot's feedback submission
properties", knowledge.hubspot.com/customer-feedback/feedback-submission-properties) gives each
survey's ratings: an NPS answer 0–10 (detractor 0–6, passive 7–8, promoter 9–10), a CES answer
1–7 (detractor 1–3, passive 4–5, promoter 6–7), and a customer satisfaction (CSAT) answer 0, 1
or 2 (detractor 0, passive 1, promoter 2): three answers, not the contract's 1–5.

HubSpot deals: a deal may be associated with several contacts, and the export lists them in one
cell; an order is one customer's.

Klaviyo email metric events: Klaviyo's email metrics ("Email metrics reference",
help.klaviyo.com/hc/en-us/articles/360036974872) are Received, Opened, Clicked, Bounced,
Dropped and Marked as Spam Email, and Unsubscribed: no event says an email was sent but
"Received Email", "when a recipient receives an email". email_monthly counts a recipient from
their first sent event and leaves out recipients without one.
"""

from __future__ import annotations

import pytest
from marts_fixtures import exports_built, records

HUBSPOT_CONTACTS = """Record ID,First Name,Last Name,Email,Create Date,Last Modified Date
101,Ana,Pop,ana.pop@example.ro,2024-01-05 10:00,2024-01-05 10:00
102,Ion,Rus,ion.rus@example.ro,2024-01-06 10:00,2024-01-06 10:00
103,Eva,Lang,eva.lang@example.de,2024-01-07 10:00,2024-01-07 10:00
104,Sam,Hill,sam.hill@example.com,2024-01-08 10:00,2024-01-08 10:00
105,Mia,Berg,mia.berg@example.se,2024-01-09 10:00,2024-01-09 10:00
"""

# One answer per contact and survey, all in April 2024. HubSpot's CSAT ratings: 2 = happy,
# 1 = neutral, 0 = unhappy. Survey types as the short labels and as the names HubSpot's
# knowledge base gives its surveys ("Customer loyalty survey (NPS)", …).
HUBSPOT_FEEDBACK = """Record ID,Survey name,Survey type,Rating,Response,Submitted at,Contact ID,\
Contact email,Associated Ticket ID
7001,Support CSAT,CSAT,2,Quick and kind answer,2024-04-02 12:00,101,ana.pop@example.ro,5001
7002,Support CSAT,CSAT,1,It was fine,2024-04-03 12:00,102,ion.rus@example.ro,5002
7003,Support CSAT,CSAT,0,Nobody answered for a week,2024-04-04 12:00,103,eva.lang@example.de,5003
7004,Quarterly NPS,NPS,9,,2024-04-05 12:00,101,ana.pop@example.ro,
7005,Quarterly NPS,Customer loyalty survey (NPS),6,,2024-04-05 13:00,104,sam.hill@example.com,
7006,Support CES,Customer support survey (CES),7,,2024-04-06 12:00,105,mia.berg@example.se,5004
7007,Support CES,CES,2,,2024-04-06 13:00,102,ion.rus@example.ro,5005
"""


# HubSpot deals, with the associated contacts' IDs and e-mails: a deal may be associated with
# several contacts (HubSpot's "Associate records": "you associate the deal to the three contact
# records"), and the export then lists them in one cell.
HUBSPOT_DEALS = """Record ID,Deal Name,Pipeline,Deal Stage,Amount,Currency,Close Date,Create Date,\
Last Modified Date,Associated Contact IDs,Associated Contact Email
9001,Pop and Rus joint plan,Sales Pipeline,Closed won,1200,EUR,2024-02-10 15:00,2024-01-20 10:00,\
2024-02-10 15:05,101;102,ana.pop@example.ro;ion.rus@example.ro
9002,Rus add-on,Sales Pipeline,Closed won,300,EUR,2024-03-11 09:00,2024-01-21 10:00,\
2024-03-11 09:01,102,ion.rus@example.ro
9003,Lang pilot,Sales Pipeline,Closed lost,500,EUR,2024-03-12 09:00,2024-01-22 10:00,\
2024-03-12 09:01,103,eva.lang@example.de
"""

# One campaign, four recipients: all received it; Ana opened and clicked, Ion opened and
# unsubscribed, Eva marked it as spam, Sam's bounced.
KLAVIYO_EVENTS = """Event ID,Event,Timestamp,Email,Profile ID,Campaign Name,Message ID,Subject,URL
4Jp01,Received Email,2024-04-10 08:00:00,ana.pop@example.ro,01HA,April promo,RmSgTq,Spring,
4Jp02,Received Email,2024-04-10 08:00:01,ion.rus@example.ro,01HB,April promo,RmSgTq,Spring,
4Jp03,Received Email,2024-04-10 08:00:02,eva.lang@example.de,01HC,April promo,RmSgTq,Spring,
4Jp04,Received Email,2024-04-10 08:00:03,sam.hill@example.com,01HD,April promo,RmSgTq,Spring,
4Jp05,Bounced Email,2024-04-10 08:00:09,sam.hill@example.com,01HD,April promo,RmSgTq,Spring,
4Jp06,Opened Email,2024-04-10 09:00:00,ana.pop@example.ro,01HA,April promo,RmSgTq,Spring,
4Jp07,Clicked Email,2024-04-10 09:01:00,ana.pop@example.ro,01HA,April promo,RmSgTq,Spring,\
https://shop.example.ro/spring
4Jp08,Opened Email,2024-04-11 19:00:00,ion.rus@example.ro,01HB,April promo,RmSgTq,Spring,
4Jp09,Unsubscribed from Email Marketing,2024-04-11 19:02:00,ion.rus@example.ro,01HB,\
April promo,RmSgTq,Spring,
4Jp10,Marked Email as Spam,2024-04-12 07:00:00,eva.lang@example.de,01HC,April promo,RmSgTq,\
Spring,
"""


@pytest.fixture(scope="module")
def hubspot(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("hubspot")
    exports = {
        "crm/contacts": HUBSPOT_CONTACTS,
        "crm/surveys": HUBSPOT_FEEDBACK,
        "crm/orders": HUBSPOT_DEALS,
        "email/events": KLAVIYO_EVENTS,
    }
    with exports_built(data_dir, exports, "2024-04-30", name="hubspot-export.csv") as built:
        con, reports = built
        yield con, {entity: found[-1] for entity, found in reports.items() if found}


def test_hubspot_feedback_lands_every_answer_on_the_contract_scales(hubspot):
    con, reports = hubspot
    assert reports["surveys"].mapping == "hubspot_feedback"
    assert (reports["surveys"].rows_landed, reports["surveys"].rows_quarantined) == (7, 0)
    got = records(con, "select response_id, survey_type, score from raw_surveys order by 1")
    # CSAT: happy (2) is 5, neutral (1) is 3, unhappy (0) is 1; NPS and CES as answered.
    assert [(r["response_id"], r["survey_type"], r["score"]) for r in got] == [
        ("7001", "csat", 5),
        ("7002", "csat", 3),
        ("7003", "csat", 1),
        ("7004", "nps", 9),
        ("7005", "nps", 6),
        ("7006", "ces", 7),
        ("7007", "ces", 2),
    ]


def test_hubspot_feedback_figures_in_satisfaction_monthly(hubspot):
    con, _ = hubspot
    (april,) = records(
        con,
        "select csat_responses, csat, nps_responses, nps, ces_responses, ces, "
        "dissatisfied_customers from satisfaction_monthly where month = '2024-04-01'",
    )
    # CSAT: 3 answers, 1 happy: 1/3. NPS: 1 promoter, 1 detractor of 2: 0. CES: (7 + 2) / 2.
    # Dissatisfied: Eva (unhappy CSAT), Sam (NPS 6), Ion (CES 2); Ion's neutral CSAT is none.
    assert april == {
        "csat_responses": 3,
        "csat": pytest.approx(1 / 3),
        "nps_responses": 2,
        "nps": 0.0,
        "ces_responses": 2,
        "ces": 4.5,
        "dissatisfied_customers": 3,
    }


def test_hubspot_feedback_dissatisfaction_signals(hubspot):
    con, _ = hubspot
    got = records(
        con,
        "select source_id from int_dissatisfaction_signals "
        "where signal_type like '%_response' order by 1",
    )
    # The unhappy CSAT, NPS 6 and CES 2; not the happy (2) or neutral (1) CSAT answers.
    assert [r["source_id"] for r in got] == ["7003", "7005", "7007"]


def test_klaviyo_events_figures_in_email_monthly(hubspot):
    con, reports = hubspot
    assert reports["email_events"].mapping == "klaviyo_events"
    assert reports["email_events"].rows_quarantined == 0
    got = records(
        con,
        "select month, campaign_id, campaign_name, sent, delivered, bounced, unique_opens, "
        "unique_clicks, unsubscribes, spam_complaints, open_rate, click_rate, "
        "unsubscribe_rate from email_monthly",
    )
    # Sent to 4 (each received it), Sam's bounced: delivered 3. Opens Ana and Ion, click Ana,
    # unsubscribe Ion, spam Eva; rates over the 3 delivered.
    assert [{**r, "month": str(r["month"])} for r in got] == [
        {
            "month": "2024-04-01",
            "campaign_id": "RmSgTq",
            "campaign_name": "April promo",
            "sent": 4,
            "delivered": 3,
            "bounced": 1,
            "unique_opens": 2,
            "unique_clicks": 1,
            "unsubscribes": 1,
            "spam_complaints": 1,
            "open_rate": pytest.approx(2 / 3),
            "click_rate": pytest.approx(1 / 3),
            "unsubscribe_rate": pytest.approx(1 / 3),
        }
    ]


def test_klaviyo_events_figures_in_customer_360(hubspot):
    con, _ = hubspot
    got = records(
        con,
        "select c.contact_id, emails_delivered_90d, opens_90d, clicks_90d, is_unsubscribed "
        "from customer_360 join int_customers c using (customer_id) order by 1",
    )
    # Mia got nothing; Sam's bounced; Ion unsubscribed (Eva's spam complaint is no unsubscribe).
    assert [tuple(r.values()) for r in got] == [
        ("101", 1, 1, 1, False),
        ("102", 1, 1, 0, True),
        ("103", 1, 0, 0, False),
        ("104", 0, 0, 0, False),
        ("105", 0, 0, 0, False),
    ]


def test_hubspot_deal_of_several_contacts_is_quarantined_not_a_customer_of_its_own(hubspot):
    con, reports = hubspot
    assert (reports["orders"].rows_landed, reports["orders"].rows_quarantined) == (2, 1)
    (bad,) = records(con, "select row_number, reason from quarantine_rows where entity = 'orders'")
    assert bad == {
        "row_number": 2,
        "reason": "contact_id ('Associated Contact IDs') names 2 records ('101', '102'), and "
        "the row belongs to one customer only, which the export does not say: keep one in the "
        "cell (or associate one) and deliver the row again; email ('Associated Contact Email') "
        "names 2 records ('ana.pop@example.ro', 'ion.rus@example.ro'), and the row belongs to "
        "one customer only, which the export does not say: keep one in the cell (or associate "
        "one) and deliver the row again",
    }
    # Ion's add-on is the one qualifying purchase (Eva's deal was lost); the joint deal landed
    # before as a customer "101;102" of its own, a second customer with 1,200 of revenue.
    got = records(con, "select customers, repeat_customers from loyalty_summary")
    assert got == [{"customers": 1, "repeat_customers": 0}]
    got = records(
        con,
        "select c.contact_id, l.purchases, l.revenue from loyalty_customers l "
        "join int_customers c using (customer_id)",
    )
    assert [(r["contact_id"], r["purchases"], float(r["revenue"])) for r in got] == [
        ("102", 1, 300.0)
    ]
