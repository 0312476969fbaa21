"""Delivered text in the UI's markdown (the models' previews, the files list, the checks'
tables): shown as written, one row per record. A survey comment in Greek with a second line,
a ``|``, asterisks and backticks, landed by the real ingestion and staged by the real model.

Before, the preview of ``stg_surveys`` wrote the comment raw: its ``|`` opened a cell too many,
its line break ended the table's row in the middle (the rest of the comment became a line of
its own, outside the table), and ``**ποτέ**`` showed in bold, ``_δύο_`` in italics and the
backticks as code.
"""

from __future__ import annotations

import re

from marts_fixtures import exports_built

from pipeline.engine import preview_markdown
from pipeline.words import markdown_text

COMMENT = "Δεν ήρθε **ποτέ** | _δύο_ φορές `κωδικός` <ΑΒ-12>\nΠαρακαλώ & ευχαριστώ"
SURVEYS = (
    "response_id,contact_id,responded_at,survey_type,score,comment\n"
    f'r1,c1,2024-03-01 10:00:00,nps,3,"{COMMENT}"\n'
)
# Unescaped pipes split a markdown table row into its cells.
CELL_EDGE = re.compile(r"(?<!\\)\|")


def test_a_comment_shows_as_written_in_its_row_of_the_preview(tmp_path):
    with exports_built(tmp_path, {"crm/surveys": SURVEYS}, "2024-03-31") as (con, reports):
        assert [(r.status, r.rows_landed) for r in reports["surveys"]] == [("landed", 1)]
        columns = [c[0] for c in con.execute("describe stg_surveys").fetchall()]
        preview = preview_markdown(con, "stg_surveys")
    header, rule, *body = preview.split("\n")
    assert len(body) == 1  # one survey, one row
    cells = [c.strip() for c in CELL_EDGE.split(body[0])[1:-1]]
    assert len(cells) == len(columns) == len(CELL_EDGE.split(header)) - 2
    comment = cells[columns.index("comment")]
    # By hand: every markup character behind a backslash, the line break a space.
    assert comment == (
        r"Δεν ήρθε \*\*ποτέ\*\* \| \_δύο\_ φορές \`κωδικός\` \<ΑΒ-12\> Παρακαλώ \& ευχαριστώ"
    )
    assert rule == "|" + "---|" * len(columns)


def test_names_keep_their_inner_underscores():
    """``customer_id`` and ``1_contacts.csv`` read as they are; an underscore at a word's edge
    (emphasis) and the other markup do not."""
    assert markdown_text("customer_id") == "customer_id"
    assert markdown_text("crm/contacts/1_contacts.csv") == "crm/contacts/1_contacts.csv"
    assert markdown_text("_nou_ [link](x) ~~a~~ a\\b\r\nb") == (
        r"\_nou\_ \[link\](x) \~\~a\~\~ a\\b b"
    )
