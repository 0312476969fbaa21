"""Quarantined rows where people look: grouped reasons, a CSV beside the data, counts in words.

The rows themselves live in ``meta.quarantine_rows`` (one per bad row: file, row number,
reason, the values as read as JSON). This module

- groups them by reason (the row's own value blanked, so ``cannot read 'x'`` and ``cannot read
  'y'`` are one reason) with a count and a few examples with file and line, for the run summary,
  the ``raw_*`` assets' *files* table and ``python -m pipeline quarantine``
  (pipeline/cli/quarantine_report.py);
- writes each delivery's bad rows to ``quarantine/<path under landing>.rows.csv`` (file, line,
  reason, then the delivery's own columns as read; UTF-8 with a byte-order mark, as Excel needs
  it), which any spreadsheet or tool opens;
- words the counts of a line-item export ("6 lines read, 2 quarantined, the other 4 combined
  into 3 orders, 3 landed"), where rows read and rows landed count different things.

The CSV copies the bad rows' values as delivered, personal data included (e-mail addresses,
names, phone numbers): the same values the warehouse holds and the refused files beside them
carry. It is written readable by its owner only (mode 0600), and it goes when the
``quarantine/`` folder is cleared.

In the ingest package, below its users: the ingest asset, the run summary and the command.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.config import Settings
from pipeline.entities import ENTITIES
from pipeline.ingest.mappings import MappingError, load_mappings
from pipeline.ingest.report import FileReport, counts_text
from pipeline.pii import open_owner_only
from pipeline.warehouse import rows, table_exists
from pipeline.words import agreeing, counted, markdown_text

EXAMPLES = 3
# Where a reason quotes a row's value (pipeline/ingest/parse.py words them): blanked, so that
# rows broken the same way fall into one group. Column labels in quotes stay.
_VALUE_PATTERNS = (
    ("read '[^']*' as ", "read '…' as "),
    ("order '[^']*' was ", "order '…' was "),
    ("'[^']*' is not one of ", "'…' is not one of "),
    ("score [^ ]+ is outside ", "score … is outside "),
    ("^[0-9]+ more value", "… more value"),
)


def _rule_sql(column: str) -> str:
    expr = f"trim({column})"
    for pattern, replacement in _VALUE_PATTERNS:
        pat, rep = pattern.replace("'", "''"), replacement.replace("'", "''")
        expr = f"regexp_replace({expr}, '{pat}', '{rep}', 'g')"
    return expr


# One rule a row broke: the reason split at "; " (parse.Plan.reason joins them so).
_RULES_SQL = f"""
select
    entity,
    source_file,
    row_number,
    reason,
    {_rule_sql("rule")} as rule
from meta.quarantine_rows,
    unnest(string_split(coalesce(reason, ''), '; ')) as r(rule)
"""


@dataclass
class ReasonGroup:
    """Rows of one file that broke the same rule: how many, and the first few."""

    entity: str
    source_file: str
    rule: str  # the reason with the row's value shown as …
    count: int
    examples: list[tuple[int, str]] = field(default_factory=list)  # (line, full reason)

    def lines(self) -> str:
        """The example lines, e.g. ``lines 6, 7``."""
        nums = ", ".join(str(n) for n, _ in self.examples)
        more = ", …" if self.count > len(self.examples) else ""
        return f"line{'s' if self.count > 1 else ''} {nums}{more}"


def reason_groups(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str | None = None,
    entity: str | None = None,
    source_file: str | None = None,
    reason: str | None = None,
    examples: int = EXAMPLES,
) -> list[ReasonGroup]:
    """Quarantined rows grouped by file and rule, largest group first within a file.

    ``source_file`` and ``reason`` match case-insensitively anywhere in the path or reason.
    A row that broke two rules counts in both groups.
    """
    if not table_exists(con, "meta", "quarantine_rows"):
        return []
    where, params = row_filters(
        run_id=run_id, entity=entity, source_file=source_file, reason=reason
    )
    found = rows(
        con,
        f"""
        with rules as ({_RULES_SQL} {where}),
        ranked as (
            select *,
                count(*) over (partition by source_file, entity, rule) as n,
                row_number() over (
                    partition by source_file, entity, rule order by row_number
                ) as k
            from rules
        )
        select entity, source_file, rule, n, row_number, reason
        from ranked where k <= ?
        order by source_file, entity, n desc, rule, row_number
        """,
        [*params, examples],
    )
    # By entity too: one file may land rows of two (a companion's part, docs/vendors.md)
    groups: dict[tuple[str, str, str], ReasonGroup] = {}
    for ent, src, rule, n, line, full in found:
        group = groups.setdefault((src, ent, rule), ReasonGroup(ent, src, rule, int(n)))
        group.examples.append((int(line), full))
    return list(groups.values())


def row_filters(**given: str | None) -> tuple[str, list]:
    """A ``where`` clause on ``meta.quarantine_rows`` and its parameters: the given run and
    entity exactly, the path and the reason as case-insensitive parts."""
    clauses, params = [], []
    if given.get("run_id"):
        clauses.append("run_id = ?")
        params.append(given["run_id"])
    if given.get("entity"):
        clauses.append("entity = ?")
        params.append(given["entity"])
    if given.get("source_file"):
        clauses.append("source_file ilike ?")
        params.append(f"%{given['source_file']}%")
    if given.get("reason"):
        clauses.append("reason ilike ?")
        params.append(f"%{given['reason']}%")
    return ("where " + " and ".join(clauses)) if clauses else "", params


def describe_groups(groups: Sequence[ReasonGroup], indent: str = "    ") -> list[str]:
    """Text lines for a file's groups: ``4 × rule (lines 2, 3, 5, …), e.g. full reason``."""
    out = []
    for g in groups:
        example = g.examples[0][1] if g.examples else ""
        text = f"{indent}{g.count:,} × {g.rule} ({g.lines()})"
        if example and example != g.rule:
            text += f", e.g. {example}"
        out.append(text)
    return out


def combined_mappings(settings: Settings, entity: str) -> set[str]:
    """Names of the entity's mappings that combine lines into orders (``aggregate``)."""
    try:
        mappings = load_mappings(entity, settings.data_dir / "vendors")
    except MappingError:  # the run already failed on it and said why; the summary goes on
        return set()
    return {m.name for m in mappings if m.aggregate is not None}


def is_part(src: str, entity: str) -> bool:
    """Whether a ledger row of ``entity`` from the file ``src`` is a companion's part of it
    (the file lies in another entity's folder)."""
    return not src.startswith(ENTITIES[entity].landing_path + "/")


def rows_csv_path(settings: Settings, con: duckdb.DuckDBPyConnection, sha: str, src: str) -> Path:
    """Where a delivery's bad rows go: ``quarantine/<src>.rows.csv``; a later delivery under
    the same name with bad rows of its own gets the first 8 digits of its hash in front. A
    companion's part of it has its own: ``<src>.<entity>.rows.csv``."""
    found = rows(con, "select entity from meta.ingest_ledger where file_sha256 = ?", [sha])
    entity = found[0][0] if found else None
    first = rows(
        con,
        "select file_sha256 from meta.ingest_ledger where source_file = ? "
        "and entity is not distinct from ? and rows_quarantined > 0 order by delivery_seq limit 1",
        [src, entity],
    )
    part = f".{entity}" if entity in ENTITIES and is_part(src, entity) else ""
    target = settings.quarantine_dir / f"{src}{part}.rows.csv"
    if first and first[0][0] != sha:
        target = target.with_name(f"{sha[:8]}-{target.name}")
    return target


def write_rows_csv(
    con: duckdb.DuckDBPyConnection, settings: Settings, sha: str, src: str
) -> Path | None:
    """Write one delivery's quarantined rows as CSV (file, line, reason, the values as read);
    returns the path, or None when the delivery has no quarantined rows."""
    found = rows(
        con,
        "select row_number, reason, record from meta.quarantine_rows "
        "where file_sha256 = ? order by row_number",
        [sha],
    )
    if not found:
        return None
    records = [json.loads(r) if r else {} for _, _, r in found]
    columns: list[str] = list(dict.fromkeys(k for rec in records for k in rec))
    # A delivery's own column named file/line/reason keeps its value under a distinct name.
    names = [f"{c} (as delivered)" if c in ("file", "line", "reason") else c for c in columns]
    target = rows_csv_path(settings, con, sha, src)
    target.parent.mkdir(parents=True, exist_ok=True)
    # With a byte-order mark: Excel reads a CSV without one in the computer's ANSI code page,
    # and a Romanian, Greek or Russian value would show garbled (Ștefan as È˜tefan).
    with open_owner_only(target, encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["file", "line", "reason", *names])
        for (line, reason, _), rec in zip(found, records, strict=True):
            out.writerow([src, line, reason, *(_cell(rec.get(c)) for c in columns)])
    return target


def _cell(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def run_csvs(
    con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str, entity: str
) -> list[Path]:
    """The CSV of every delivery of ``entity`` that quarantined rows in ``run_id``, and of the
    parts its files gave other entities (which land with them). Each was written with its
    delivery, before the commit (``core._land``); one missing (removed by hand since) is
    written again from ``meta.quarantine_rows``."""
    deliveries = rows(
        con,
        "select file_sha256, source_file from meta.ingest_ledger "
        "where run_id = ? and (entity = ? or starts_with(source_file, ?)) "
        "and rows_quarantined > 0 order by delivery_seq, entity",
        [run_id, entity, ENTITIES[entity].landing_path + "/"],
    )
    paths = [rows_csv_path(settings, con, sha, src) for sha, src in deliveries]
    written = [
        path if path.exists() else write_rows_csv(con, settings, sha, src)
        for path, (sha, src) in zip(paths, deliveries, strict=True)
    ]
    return [p for p in written if p is not None]


def run_files(
    con: duckdb.DuckDBPyConnection, run_id: str, reports: Sequence[FileReport] | None = None
) -> list[tuple]:
    """The files of ``run_id``, one per path: (source_file, entity, mapping, status, rows_read,
    rows_landed, rows_quarantined, reason, file_sha256, encoding, encoding_decided).

    ``reports`` are the run's own, by path (its raw assets' ``run_files`` metadata), each
    followed by its parts (a companion's rows of the same file, another entity's); each takes
    its hash from the ledger row of its path and entity. The ledger alone is keyed by hash and
    keeps the last path's outcome only: the same bytes refused as crm/contacts/a.csv and landed as
    crm/orders/a.csv in one run left no word of the refusal. Ledger rows of the run whose path
    no report has (an entity whose ingest raised records no metadata) follow; without
    ``reports`` (a run outside Dagster), the ledger's rows are all there is.
    """
    if not table_exists(con, "meta", "ingest_ledger"):
        return []
    ledger_rows = rows(
        con,
        "select source_file, entity, mapping, status, rows_read, rows_landed, rows_quarantined, "
        "reason, file_sha256, encoding, encoding_decided from meta.ingest_ledger "
        "where run_id = ? order by delivery_seq",
        [run_id],
    )
    ledger_rows = _parts_after_files(ledger_rows)
    if reports is None:
        return ledger_rows
    sha_of = {(row[0], row[1]): row[8] for row in ledger_rows}
    said = [
        (r.source_file, r.entity, r.mapping, r.status, r.rows_read, r.rows_landed,
         r.rows_quarantined, r.reason, sha_of.get((r.source_file, r.entity)), r.encoding,
         r.encoding_decided)
        for report in reports
        for r in [report, *report.parts]
    ]  # fmt: skip
    paths = {(r[0], r[1]) for r in said}
    return said + [row for row in ledger_rows if (row[0], row[1]) not in paths]


def _parts_after_files(found: list[tuple]) -> list[tuple]:
    """Ledger rows of a run with each file's parts right after it: they share its
    delivery_seq, which alone leaves their order to chance."""
    files = [r for r in found if not is_part(r[0], r[1])]
    parts = [r for r in found if is_part(r[0], r[1])]
    out = []
    for row in files:
        out.append(row)
        out += [p for p in parts if p[0] == row[0]]
    return out + [p for p in parts if p not in out]


def needs_attention(files: Sequence[tuple]) -> int:
    """How many of :func:`run_files`' files were refused or had rows quarantined (a file
    whose companion's part quarantined rows counts once)."""
    return len(
        {
            src
            for src, _, _, status, _, _, quarantined, *_ in files
            if status == "refused" or (quarantined or 0) > 0
        }
    )


def summary_lines(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    notes: dict[str, list[str]] | None = None,
    reports: Sequence[FileReport] | None = None,
) -> list[str]:
    """The run summary's per-file lines (:func:`run_files`, ``reports`` the run's own):
    counts, refusals, skips, ``notes`` per landed file, and the quarantine reasons with where
    the rows were written."""
    files = run_files(con, run_id, reports)
    groups: dict[tuple[str, str], list[ReasonGroup]] = {}
    for g in reason_groups(con, run_id=run_id):
        groups.setdefault((g.source_file, g.entity), []).append(g)
    combined: dict[str, set[str]] = {}
    # Each file's lines, its parts' after it; whether it landed whole with nothing to say
    # ("plain"; a file with a part never is: the part's line says what became of it) or is a
    # copy of another ("copy"), and its rows landed
    blocks: list[tuple[str, int, list[str]]] = []
    refused = 0
    for src, entity, mapping, status, read, landed, quarantined, reason, sha, enc, how in files:
        # The encoding read and how it was decided, when it is not plain UTF-8 (the usual case).
        text = f" [text {enc}, {how}]" if enc and how != "utf8" else ""
        if status == "refused":
            moved = settings.quarantine_dir / ENTITIES[entity].landing_path
            blocks.append(("", 0, [f"  {src}: REFUSED — {reason}{text} (moved to {moved}/)"]))
            refused += 1
            continue
        if status == "skipped":  # the same bytes as another file of this run, or a hidden name
            copy = "copy" if (reason or "").startswith("same bytes as ") else ""
            blocks.append((copy, 0, [f"  {src}: skipped — {reason}"]))
            continue
        if entity not in combined:
            combined[entity] = combined_mappings(settings, entity)
        # A landed file's reason is a note: a retry, rows held back as old or conflicting versions.
        note = f" ({reason})" if reason else ""
        counts = counts_text(read, landed, quarantined, mapping in combined[entity])
        if is_part(src, entity):
            # A companion's part of a file (its surveys rows, say), under the file's line.
            out = (blocks.pop()[2] if blocks else []) + [
                f"    and {entity} via {mapping}: {counts}{note}"
            ]
        else:
            out = [f"  {src}: {counts}{text}{note}"]
            # The file's notes, its parts' included (the suites' outcomes are by file)
            out.extend(f"    {note}" for note in (notes or {}).get(src, []))
        if quarantined:
            out.extend(describe_groups(groups.get((src, entity), [])))
            out.append(f"    rows in {rows_csv_path(settings, con, sha, src)}")
        plain = len(out) == 1 and not text and not note
        blocks.append(("plain" if plain else "", landed or 0, out))
    out = _plain_counted(blocks)
    if refused:
        # The way back for a refused file, said once under the list: each line says why and
        # where it went, none what to do next.
        out.append(
            f"  {agreeing(refused, 'the refused file', 'the refused files')}: "
            f"{refused_todo(refused)}; python -m pipeline quarantine lists "
            f"{agreeing(refused, 'it', 'them')} with the reasons"
        )
    return out


# Files that landed whole with nothing to say, and copies of another file skipped, listed up to
# this many each before the rest are counted: a backlog of 2,000 small files gave a summary of
# 2,000 such lines, in which a refusal was hard to find.
PLAIN_SHOWN = 20


def _plain_counted(blocks: Sequence[tuple[str, int, list[str]]]) -> list[str]:
    """The blocks' lines, the plain ones (landed whole, nothing to say) and the copies after
    the first :data:`PLAIN_SHOWN` of each counted in a line each at the end."""
    out: list[str] = []
    shown = {"plain": 0, "copy": 0}
    more = {"plain": [0, 0], "copy": [0, 0]}  # files, rows
    for kind, landed, lines in blocks:
        if kind and shown[kind] >= PLAIN_SHOWN:
            more[kind][0] += 1
            more[kind][1] += landed
            continue
        if kind:
            shown[kind] += 1
        out += lines
    files, rows_more = more["plain"]
    if files:
        out.append(
            f"  … and {counted(files, 'more file')} landed whole ({counted(rows_more, 'row')}; "
            "the ingest ledger, meta.ingest_ledger, lists each)"
        )
    if copies := more["copy"][0]:
        out.append(
            f"  … and {counted(copies, 'more file')} skipped: the same bytes as a file landed "
            "or listed above"
        )
    return out


def refused_todo(n: int) -> str:
    """What to do with ``n`` refused files: said by the run summary and the quarantine listing
    (the notices say it too: pipeline/automation/notify.py)."""
    it = agreeing(n, "it", "them")
    return (
        f"fix or re-export {it} and put {it} in landing/ again, where a corrected file is a new "
        "delivery"
    )


def reasons_markdown(groups: Sequence[ReasonGroup]) -> str:
    """A file's groups on one markdown line: ``2 × rule (lines 6, 7)`` joined by ``; ``, the
    delivered text a rule quotes shown as written (:func:`pipeline.words.markdown_text`)."""
    return "; ".join(markdown_text(f"{g.count:,} × {g.rule} ({g.lines()})") for g in groups)
