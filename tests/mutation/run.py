"""``make mutate``: mutation testing where a bug changes a figure.

Two sets, each in a throw-away copy of the checkout (the tree you work in is never modified):

- **SQL**: mutants in ``sql/``, found with sqlglot's tokenizer (so comments and
  strings are left alone), each applied alone while the mart tests run, the hand-worked ones
  first and then the oracle, stopping at the first failure (``--sql-mutants`` runs one kind).
  Two kinds move an edge:

  - *comparisons*: every ordering comparison (``<``, ``<=``, ``>``, ``>=``) flipped
    (``<`` ↔ ``<=``, ``>`` ↔ ``>=``: an edge moved from one side of the bound to the other);
  - *window bounds*: the length of every window moved by one each way (``N`` → ``N-1`` and
    ``N+1``; ``N-1`` only when ``N > 0``). A whole number is a window length when it is

    1. compared (``<``, ``<=``, ``>``, ``>=``) with a name ending in ``_days``, ``_hours``,
       ``_minutes``, ``_weeks``, ``_months`` or ``_years`` (``age_days < 365``) or with a
       ``date_diff``/``datediff`` call (``date_diff('day', a, b) <= 90``), on either side;
    2. the count of an interval: ``interval 90 day``, or the leading number of an interval
       string, ``interval '12 months'`` (the only strings touched);
    3. a window frame's ``N preceding`` / ``N following``;
    4. a day count added to or taken from a date: after ``+``/``-`` following
       ``cast(… as date)``, ``as_of`` or a name ending in ``_date`` (``… as date) - 1``).

    Thresholds on scores and counts (``score <= 6``, ``purchases >= 5``), ``ntile(5)``, unit
    conversions (``/ 3600.0``) and settings (``settings.churn_days``: moving it by one day is
    what the flip of its ``<`` already does) are not window lengths and are left alone.

  and five change what a query means, the bugs data engineers write:

  - *distinct*: ``distinct`` dropped inside an aggregate call (``count(distinct x)`` →
    ``count(x)``: a customer counted once per order); ``select distinct`` is left alone;
  - *join*: ``left join`` → ``join`` (rows without a match dropped, from a rate's denominator)
    and ``join``/``inner join`` → ``left join`` (rows without a match kept, with NULLs);
  - *logic*: ``and`` ↔ ``or`` wherever they join conditions (``where``, ``on``, ``case
    when``); the ``and`` of ``between … and …`` is not a boolean and is left alone;
  - *coalesce*: ``coalesce(x, literal)`` → ``(x)`` (the NULL it caught reaches a sum, a rate
    or a flag);
  - *union*: ``union all`` → ``union`` (duplicate rows collapsed) and ``union`` →
    ``union all``.
- **Python**: cosmic-ray over the modules in ``PYTHON_TARGETS`` (ingestion parsing and
  mappings, which version of a record wins, a file's decimal separator, sentiment, the engine's
  incremental logic: its kinds, its build log and which builds are skipped, which validations
  are reused, the personal-data masks), each against the tests that cover it, with the
  operators that change a value (comparisons, ``and``/``or``, ``+``/``-``, ``&``/``|``,
  numbers, ``True``/``False``, ``not``).

Each Python mutant runs only its target's tests (fast direct ones first, ``-x``, no cache, no
xdist) and is stopped, and counted killed, after three times the unmutated run plus a minute.
``--lines`` mutates only some lines of a target (a long module in parts); ``--recheck`` reruns
only the survivors of a target's last run against today's tests.

Writes ``.mutation/report.md`` (score per module and every surviving mutant with its place) and
``.mutation/report.json``. A surviving mutant is either a missing test or an equivalent
mutation; docs/testing.md records which.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlglot.dialects.duckdb import DuckDB
from sqlglot.tokens import TokenType

REPO = Path(__file__).resolve().parents[2]
FLIPS = {TokenType.LT: "<=", TokenType.LTE: "<", TokenType.GT: ">=", TokenType.GTE: ">"}
# The mart tests, fastest first: a killed mutant stops at the first failure.
SQL_TESTS = [
    "tests/test_marts_windows.py",
    "tests/test_marts_retention.py",
    "tests/test_marts_loyalty.py",
    "tests/test_marts_satisfaction.py",
    "tests/test_marts_social_email.py",
    "tests/test_marts_customer_360.py",
    "tests/test_marts_identity.py",
    "tests/test_marts_ingested.py",
    "tests/test_marts_cdnow.py",
    "tests/test_incremental_models.py",
    "tests/test_marts_oracle.py",
]
# Per target, the module and only the tests that exercise it, the quickest and broadest first
# (``-x`` stops a killed mutant at its first failure). Slow tests that reach the module only
# through Dagster or the marts are left out: each mutant reruns the whole list.
PYTHON_TARGETS: dict[str, tuple[str, list[str]]] = {
    "ingest/parse": (
        "pipeline/ingest/parse.py",
        [
            "tests/test_ingest_parse_plan.py",
            "tests/test_ingest_parse_values.py",
            "tests/test_ingest_formats.py",
            "tests/test_ingest_workbooks.py",
            "tests/test_ingest_vendors.py",
            "tests/test_ingest_quarantine.py",
            "tests/test_ingest_deliveries.py::test_multi_group_thousands_separators",
            "tests/test_ingest_core.py::test_canonical_orders_land_typed_and_bad_rows_are_quarantined",
            "tests/test_amount_precision.py",
        ],
    ),
    "ingest/mappings": (
        "pipeline/ingest/mappings.py",
        [
            "tests/test_ingest_mapping_rules.py",
            "tests/test_ingest_vendor_samples.py::test_vendor_sample_lines_land_with_every_column_as_worked_by_hand",
            "tests/test_ingest_vendors.py",
            "tests/test_ingest_vendor_samples.py",
        ],
    ),
    # test_docs_carry_the_measured_numbers re-measures the scorers (12 s) and checks the docs,
    # not this module's logic.
    "sentiment": (
        "pipeline/sentiment/scoring.py",
        [
            "tests/test_sentiment_rules.py",
            "tests/test_sentiment.py",
            "--deselect",
            "tests/test_sentiment.py::test_docs_carry_the_measured_numbers",
        ],
    ),
    # The rules on small models first (a second or two), the slow e-mail models (7 s) last.
    "engine/kinds": (
        "pipeline/engine/kinds.py",
        [
            "tests/test_engine_kinds_rules.py",
            "tests/test_engine_api.py",
            "tests/test_sql_engine.py",
            "tests/test_incremental_models.py::test_delete_insert_rebuilds_when_it_cannot_tell_what_changed",
            "tests/test_incremental_models.py::test_incremental_blocks_are_checked_at_load",
            "tests/test_incremental_models.py::test_mutable_staging_rewrites_the_keys_delivered_since",
            "tests/test_incremental_models.py::test_email_models_follow_new_owners_campaigns_and_as_of",
        ],
    ),
    # The build log's rules and API directly first (a few seconds), then the engine's builds.
    "engine/build_log": (
        "pipeline/engine/build_log.py",
        [
            "tests/test_engine_build_log_rules.py",
            "tests/test_engine_api.py",
            "tests/test_sql_engine.py",
            "tests/test_incremental_models.py",
        ],
    ),
    # Whether a build is skipped: a bug leaves stale figures. test_skip_unchanged.py (a minute:
    # three builds of a generated warehouse and a Dagster publication) last.
    "engine/skip": (
        "pipeline/engine/skip.py",
        ["tests/test_engine_skip_rules.py", "tests/test_skip_unchanged.py"],
    ),
    # Which version of a mutable record wins a later delivery: a bug reverts an order's update.
    # The delivery tests land files in a real DuckDB (a second or so each).
    "ingest/versions": (
        "pipeline/ingest/versions.py",
        ["tests/test_ingest_deliveries.py", "tests/test_ingest_core.py"],
    ),
    # A file's decimal separator: a wrong one multiplies an amount by 1000. The unit test of
    # decide first, then the plans and the landings that reach it.
    "ingest/decimals": (
        "pipeline/ingest/decimals.py",
        [
            "tests/test_ingest_deliveries.py::test_a_stated_separator_wins_over_the_values_and_unsettled_values_are_ambiguous",
            "tests/test_ingest_parse_plan.py",
            "tests/test_ingest_deliveries.py",
            "tests/test_ingest_duckdb_csv.py",
            "tests/test_amount_precision.py",
        ],
    ),
    # Whether a validation is skipped as unchanged, and the mart shrink floor: a bug lets a
    # check that should run pass without running. The rules on an in-memory DuckDB first (a
    # second), then the suites on a built warehouse (15 s).
    "validation/state": (
        "pipeline/validation/state.py",
        ["tests/test_validation_state_rules.py", "tests/test_validation_stages.py"],
    ),
    # The masks and the guard's pattern that keep personal data out of the served marts.
    "pii": (
        "pipeline/pii.py",
        [
            "tests/test_pii.py",
            "tests/test_validation_stages.py::test_no_personal_data_reaches_a_mart",
        ],
    ),
}
# Operators that produce no figure-changing mutant worth a test run here (renaming variables,
# removing decorators, exceptions, unary operators), and binary operators other than + - & |.
EXCLUDED_OPERATORS = [
    r"core/ReplaceBinaryOperator_(?!Add_Sub$|Sub_Add$|BitAnd_BitOr$|BitOr_BitAnd$)",
    r"core/ReplaceUnaryOperator_",
    r"core/ReplaceComparisonOperator_(Is|IsNot|In|NotIn)_",
    r"core/ReplaceComparisonOperator_.*_(Is|IsNot|In|NotIn)$",
    r"core/VariableInserter",
    r"core/VariableReplacer",
    r"core/ExceptionReplacer",
    r"core/RemoveDecorator",
    r"core/ZeroIterationForLoop",
    r"core/ReplaceBreakWithContinue",
    r"core/ReplaceContinueWithBreak",
]


@dataclass(frozen=True)
class SqlMutant:
    """One SQL mutant: file, 1-based line and column, the text at ``start:end`` (offsets in
    the file) and its replacement; ``kind`` is ``comparison`` (a flipped operator), ``bound``
    (a window length moved by one) or one of the meaning-changing kinds (``distinct``,
    ``join``, ``logic``, ``coalesce``, ``union``: see the module's docstring)."""

    path: str
    line: int
    start: int
    end: int
    original: str
    replacement: str
    kind: str = "comparison"
    column: int = 1


# Names that hold a length of time, compared with a window length (``age_days < 365``).
DURATION_SUFFIXES = ("_days", "_hours", "_minutes", "_weeks", "_months", "_years")
DIFF_FUNCTIONS = {"date_diff", "datediff"}
# The leading count of an interval string: ``'12 months'`` (after the opening quote).
INTERVAL_COUNT = re.compile(r"'\s*(\d+)\b")


def comparison_mutants(text: str) -> list[tuple[int, int, str, str]]:
    """Every ordering comparison in ``text``, flipped: (start, end, original, replacement)."""
    return [
        (t.start, t.end + 1, t.text, FLIPS[t.token_type])
        for t in DuckDB().tokenize(text)
        if t.token_type in FLIPS
    ]


def _ends_duration(tokens: list, i: int) -> bool:
    """Whether an operand ending at ``tokens[i]`` is a length of time: a name ending in a unit
    (``age_days``, ``t.age_days``) or a ``date_diff(...)`` call."""
    if i < 0:
        return False
    if tokens[i].token_type == TokenType.R_PAREN:
        return _call_name(tokens, i) in DIFF_FUNCTIONS
    return tokens[i].text.lower().endswith(DURATION_SUFFIXES)


def _starts_duration(tokens: list, i: int) -> bool:
    """Whether an operand starting at ``tokens[i]`` is a length of time (``age_days``,
    ``t.age_days``, ``date_diff(...)``)."""
    while i + 2 < len(tokens) and tokens[i + 1].token_type == TokenType.DOT:
        i += 2  # a qualified name: its last part says what it holds
    if i >= len(tokens):
        return False
    name = tokens[i].text.lower()
    if name in DIFF_FUNCTIONS:
        return i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.L_PAREN
    return name.endswith(DURATION_SUFFIXES)


def _partner(tokens: list, at: int) -> int:
    """The index of the parenthesis matching the one at ``at``: the ``)`` closing a ``(``, or
    the ``(`` a ``)`` closes (-1 when unbalanced)."""
    step = 1 if tokens[at].token_type == TokenType.L_PAREN else -1
    depth = 0
    for j in range(at, len(tokens) if step == 1 else -1, step):
        kind = tokens[j].token_type
        depth += (kind == TokenType.L_PAREN) - (kind == TokenType.R_PAREN)
        if depth == 0:
            return j
    return -1


def _call_name(tokens: list, close: int) -> str:
    """The lower-case name of the function whose call ends at the ``)`` at ``close``."""
    opening = _partner(tokens, close)
    return tokens[opening - 1].text.lower() if opening > 0 else ""


def _is_date(tokens: list, i: int) -> bool:
    """Whether ``tokens[i]`` ends a date: ``cast(… as date)``, ``as_of`` or ``*_date``."""
    if i < 0:
        return False
    token = tokens[i]
    if token.token_type == TokenType.R_PAREN:
        return (
            _call_name(tokens, i) == "cast"
            and i >= 2
            and tokens[i - 1].token_type == TokenType.DATE
            and tokens[i - 2].token_type == TokenType.ALIAS
        )
    name = token.text.lower()
    return token.token_type == TokenType.VAR and (name == "as_of" or name.endswith("_date"))


def _is_window_length(tokens: list, i: int) -> bool:
    """Whether the number ``tokens[i]`` is a window length (rules 1 to 4 of the module's
    docstring; the interval strings of rule 2 are found by the caller)."""
    before = tokens[i - 1].token_type if i > 0 else None
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    if before == TokenType.INTERVAL:
        return True
    if before in FLIPS and _ends_duration(tokens, i - 2):
        return True
    if after is not None and after.token_type in FLIPS and _starts_duration(tokens, i + 2):
        return True
    if after is not None and after.text.lower() in ("preceding", "following"):
        return True
    return before in (TokenType.PLUS, TokenType.DASH) and _is_date(tokens, i - 2)


def bound_mutants(text: str) -> list[tuple[int, int, str, str]]:
    """Every window length in ``text`` moved by one, ``N-1`` then ``N+1`` (see the module's
    docstring for what counts as a window length): (start, end, original, replacement)."""
    tokens = DuckDB().tokenize(text)
    found = []
    for i, token in enumerate(tokens):
        if token.token_type == TokenType.NUMBER and token.text.isdigit():
            if not _is_window_length(tokens, i):
                continue
            start, end, number = token.start, token.end + 1, int(token.text)
        elif (
            token.token_type == TokenType.STRING
            and i > 0
            and tokens[i - 1].token_type == TokenType.INTERVAL
            and (count := INTERVAL_COUNT.match(text, token.start)) is not None
        ):
            start, end, number = count.start(1), count.end(1), int(count.group(1))
        else:
            continue
        for moved in (number - 1, number + 1):
            if moved >= 0:
                found.append((start, end, text[start:end], str(moved)))
    return found


# Join keywords that make a ``join`` something other than an inner join (or say which one):
# only a bare ``join`` or ``inner join`` becomes a ``left join``.
JOIN_QUALIFIERS = {
    TokenType.LEFT,
    TokenType.RIGHT,
    TokenType.FULL,
    TokenType.OUTER,
    TokenType.CROSS,
    TokenType.NATURAL,
    TokenType.SEMI,
    TokenType.ANTI,
    TokenType.ASOF,
    TokenType.POSITIONAL,
}
# A literal: what ``coalesce(x, literal)`` falls back to.
LITERALS = {TokenType.NUMBER, TokenType.STRING, TokenType.TRUE, TokenType.FALSE}


def distinct_mutants(text: str) -> list[tuple[int, int, str, str]]:
    """Every ``distinct`` inside an aggregate call dropped (``count(distinct x)`` → ``count(x)``:
    a customer counted once per order); ``select distinct`` is left alone."""
    tokens = DuckDB().tokenize(text)
    return [
        (t.start, tokens[i + 1].start, text[t.start : tokens[i + 1].start], "")
        for i, t in enumerate(tokens)
        if t.token_type == TokenType.DISTINCT
        and i >= 2
        and i + 1 < len(tokens)
        and tokens[i - 1].token_type == TokenType.L_PAREN
        and tokens[i - 2].token_type == TokenType.VAR
    ]


def join_mutants(text: str) -> list[tuple[int, int, str, str]]:
    """Every ``left join`` (``left outer join``) made an inner ``join`` (rows without a match
    dropped), and every ``join``/``inner join`` made a ``left join`` (rows without a match kept,
    with NULLs); cross, full, right, semi, anti, as-of and positional joins are left alone."""
    tokens = DuckDB().tokenize(text)
    found = []
    for i, t in enumerate(tokens):
        if t.token_type != TokenType.JOIN:
            continue
        first = i
        while first > 0 and tokens[first - 1].token_type in (JOIN_QUALIFIERS | {TokenType.INNER}):
            first -= 1
        words = {tok.token_type for tok in tokens[first:i]}
        start, end = tokens[first].start, t.end + 1
        if words in ({TokenType.LEFT}, {TokenType.LEFT, TokenType.OUTER}):
            found.append((start, end, text[start:end], "join"))
        elif words <= {TokenType.INNER}:
            found.append((start, end, text[start:end], "left join"))
    return found


def logic_mutants(text: str) -> list[tuple[int, int, str, str]]:
    """Every boolean ``and`` made ``or`` and every ``or`` made ``and`` (in a ``where``, an
    ``on``, a ``case when``, anywhere); the ``and`` of ``between … and …`` (a range or a window
    frame, not a boolean) is left alone."""
    tokens = DuckDB().tokenize(text)
    found = []
    # Per parenthesis depth, whether a ``between`` there still waits for its ``and``.
    between: dict[int, bool] = {}
    depth = 0
    for t in tokens:
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            between.pop(depth, None)
            depth -= 1
        elif t.token_type == TokenType.BETWEEN:
            between[depth] = True
        elif t.token_type == TokenType.AND and between.pop(depth, False):
            continue
        elif t.token_type in (TokenType.AND, TokenType.OR):
            flipped = "or" if t.token_type == TokenType.AND else "and"
            found.append((t.start, t.end + 1, t.text, flipped))
    return found


def coalesce_mutants(text: str) -> list[tuple[int, int, str, str]]:
    """Every ``coalesce(x, literal)`` (two arguments, the second a number, a string or
    ``true``/``false``) replaced by ``(x)``: the NULL it caught reaches the sum, the rate or
    the flag."""
    tokens = DuckDB().tokenize(text)
    found = []
    for i, t in enumerate(tokens[:-1]):
        if t.text.lower() != "coalesce" or tokens[i + 1].token_type != TokenType.L_PAREN:
            continue
        close = _partner(tokens, i + 1)
        if close < 0:
            continue
        # The commas at the call's own depth split its arguments.
        commas, depth = [], 0
        for j in range(i + 2, close):
            kind = tokens[j].token_type
            depth += (kind == TokenType.L_PAREN) - (kind == TokenType.R_PAREN)
            if kind == TokenType.COMMA and depth == 0:
                commas.append(j)
        if len(commas) != 1:
            continue
        fallback = tokens[commas[0] + 1 : close]
        if fallback and fallback[0].token_type == TokenType.DASH:
            fallback = fallback[1:]
        if len(fallback) != 1 or fallback[0].token_type not in LITERALS:
            continue
        first = text[tokens[i + 2].start : tokens[commas[0] - 1].end + 1]
        # The string's quotes are not part of its token: the call ends at the ``)``.
        end = tokens[close].end + 1
        found.append((t.start, end, text[t.start : end], f"({first})"))
    return found


def union_mutants(text: str) -> list[tuple[int, int, str, str]]:
    """Every ``union all`` made ``union`` (duplicate rows collapsed) and every ``union`` made
    ``union all`` (duplicates kept)."""
    tokens = DuckDB().tokenize(text)
    found = []
    for i, t in enumerate(tokens):
        if t.token_type != TokenType.UNION:
            continue
        if i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.ALL:
            end = tokens[i + 1].end + 1
            found.append((t.start, end, text[t.start : end], "union"))
        else:
            found.append((t.start, t.end + 1, t.text, "union all"))
    return found


# Each SQL kind's finder, in the order the kinds run.
FINDERS = {
    "comparison": comparison_mutants,
    "bound": bound_mutants,
    "distinct": distinct_mutants,
    "join": join_mutants,
    "logic": logic_mutants,
    "coalesce": coalesce_mutants,
    "union": union_mutants,
}


def sql_mutants(sql_dir: Path, kinds: tuple[str, ...] = ("comparison", "bound")) -> list[SqlMutant]:
    """The mutants of the models in ``sql_dir``, file by file in text order: the flipped
    comparisons and the window lengths moved by one, or any other kinds of ``FINDERS``
    (``kinds`` chooses)."""
    found = []
    for path in sorted(sql_dir.rglob("*.sql")):
        text = path.read_text()
        for kind in kinds:
            for start, end, original, replacement in FINDERS[kind](text):
                found.append(
                    SqlMutant(
                        path=path.relative_to(sql_dir.parent).as_posix(),
                        line=text.count("\n", 0, start) + 1,
                        column=start - text.rfind("\n", 0, start),
                        start=start,
                        end=end,
                        original=original,
                        replacement=replacement,
                        kind=kind,
                    )
                )
    return found


def one_line(sql: str) -> str:
    """``sql`` on one line, its runs of spaces and newlines made one space: a ``coalesce(…)``
    written over several lines reads as one line of the log and the report."""
    return " ".join(sql.split())


def copy_checkout(target: Path) -> Path:
    """A copy of the checkout's source, tests and models (no virtualenv, data or git)."""
    skipped = (".git", ".venv", ".tools", "data", ".mutation", "__pycache__", ".pytest_cache")
    ignore = shutil.ignore_patterns(*skipped, ".ruff_cache")
    shutil.copytree(REPO, target, ignore=ignore)
    return target


def pytest_command(tests: list[str]) -> list[str]:
    """pytest over ``tests``, stopping at the first failure, with no cache written."""
    return [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]


SQL_KINDS = {
    "comparison": "sql (comparisons in sql/)",
    "bound": "sql (window bounds in sql/)",
    "distinct": "sql (distinct in aggregates in sql/)",
    "join": "sql (left join and join in sql/)",
    "logic": "sql (and and or in sql/)",
    "coalesce": "sql (coalesce to a literal in sql/)",
    "union": "sql (union and union all in sql/)",
}


def run_sql(
    work: Path,
    tests: list[str],
    only: str | None,
    kinds: tuple[str, ...] = tuple(SQL_KINDS),
    places: list[str] | None = None,
) -> dict[str, dict]:
    """Run every SQL mutant of ``kinds`` in ``work`` (only in files whose path contains
    ``only``, and only on the lines ``places``, ``sql/x.sql:12``, when given): per kind (its row
    name in the report), the count of mutants, killed and the survivors."""
    mutants = [
        m
        for m in sql_mutants(work / "sql", kinds)
        if (not only or only in m.path) and (not places or f"{m.path}:{m.line}" in places)
    ]
    began = time.monotonic()
    baseline = subprocess.run(pytest_command(tests), cwd=work, capture_output=True, text=True)
    if baseline.returncode != 0:
        raise SystemExit(f"the SQL tests fail before any mutation:\n{baseline.stdout[-2000:]}")
    # A mutant could make a query endless: stopped, and counted killed, like a Python mutant.
    timeout = 3 * (time.monotonic() - began) + 60
    print(f"sql: unmutated tests pass; timeout per mutant {timeout:.0f} s", flush=True)
    results = {SQL_KINDS[k]: {"mutants": 0, "killed": 0, "survivors": []} for k in kinds}
    for number, mutant in enumerate(mutants, start=1):
        path = work / mutant.path
        original = path.read_text()
        path.write_text(original[: mutant.start] + mutant.replacement + original[mutant.end :])
        began = time.monotonic()
        try:
            done = subprocess.run(
                pytest_command(tests), cwd=work, capture_output=True, text=True, timeout=timeout
            )
            survived = done.returncode == 0
        except subprocess.TimeoutExpired:
            survived = False
        finally:
            path.write_text(original)
        result = results[SQL_KINDS[mutant.kind]]
        result["mutants"] += 1
        result["killed"] += not survived
        if survived:
            result["survivors"].append(asdict(mutant))
        print(
            f"[{number}/{len(mutants)}] {mutant.path}:{mutant.line}:{mutant.column} "
            f"{one_line(mutant.original)} -> {one_line(mutant.replacement)}: "
            f"{'SURVIVED' if survived else 'killed'} ({time.monotonic() - began:.0f} s)",
            flush=True,
        )
    return results


def run_python(
    work: Path, name: str, module: str, tests: list[str], out: Path, lines: str | None = None
) -> dict:
    """cosmic-ray over one module in ``work`` (only ``lines``, e.g. ``"37-130"``, when given:
    a long module is run in parts); the report of killed and surviving mutants."""
    bin_dir = Path(sys.executable).parent
    slug = name.replace("/", "-") + (f"-lines-{lines}" if lines else "")
    config = out / f"{slug}.toml"
    session = out / f"{slug}.sqlite"
    session.unlink(missing_ok=True)
    test_command = " ".join(pytest_command(tests))
    # A mutant can loop forever (a flipped loop bound): it is timed out, and counted killed, at
    # three times the unmutated run plus a minute (the machine is shared, so timings wander).
    began = time.monotonic()
    baseline = subprocess.run(pytest_command(tests), cwd=work, capture_output=True, text=True)
    if baseline.returncode != 0:
        raise SystemExit(
            f"the tests of {name} fail before any mutation:\n{baseline.stdout[-2000:]}"
        )
    timeout = 3 * (time.monotonic() - began) + 60
    print(f"{name}: unmutated tests pass; timeout per mutant {timeout:.0f} s", flush=True)
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        f"timeout = {timeout:.1f}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(test_command)}\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = {json.dumps(EXCLUDED_OPERATORS)}\n"
    )
    if lines:
        ranges = json.dumps([part.strip() for part in lines.split(",")])
        with config.open("a") as toml:
            toml.write(f'\n[cosmic-ray.filters.line-filter.lines]\n"{module}" = {ranges}\n')
    for step in (
        [bin_dir / "cosmic-ray", "init", config, session],
        [bin_dir / "cr-filter-operators", session, config],
        *([[bin_dir / "cr-filter-lines", "--config", config, session]] if lines else []),
        [bin_dir / "cosmic-ray", "exec", config, session],
    ):
        subprocess.run([str(s) for s in step], cwd=work, check=True)
    with sqlite3.connect(session) as db:
        rows = db.execute(
            "select m.operator_name, m.start_pos_row, r.test_outcome, r.worker_outcome "
            "from mutation_specs m join work_results r on r.job_id = m.job_id"
        ).fetchall()
    # A mutant the tests could not even import (INCOMPETENT) or that was filtered out is not
    # counted; the score is killed / (killed + survived).
    tested = [r for r in rows if r[2] in ("KILLED", "SURVIVED")]
    if lines:
        name = f"{name} (lines {lines})"
    survivors = [
        {"path": module, "line": row, "operator": op}
        for op, row, test_outcome, _ in tested
        if test_outcome == "SURVIVED"
    ]
    return {
        "name": name,
        "mutants": len(tested),
        "killed": len(tested) - len(survivors),
        "survivors": survivors,
    }


def recheck_python(
    work: Path, name: str, module: str, tests: list[str], out: Path, lines: str | None = None
) -> dict:
    """Apply each survivor of the last run of ``name`` (its session in ``out``) again and run
    today's tests: which survivors the tests written since then kill, and which still live."""
    slug = name.replace("/", "-") + (f"-lines-{lines}" if lines else "")
    with sqlite3.connect(out / f"{slug}.sqlite") as db:
        survivors = db.execute(
            "select m.module_path, m.operator_name, m.occurrence, m.start_pos_row "
            "from mutation_specs m join work_results r on r.job_id = m.job_id "
            "where r.test_outcome = 'SURVIVED' order by m.start_pos_row"
        ).fetchall()
    path = work / module
    original = path.read_text()
    killed, alive = [], []
    for module_path, operator, occurrence, row in survivors:
        subprocess.run(
            [
                str(Path(sys.executable).parent / "cosmic-ray"),
                "apply",
                module_path,
                operator,
                str(occurrence),
            ],
            cwd=work,
            check=True,
            capture_output=True,
        )
        try:
            done = subprocess.run(pytest_command(tests), cwd=work, capture_output=True, text=True)
        finally:
            path.write_text(original)
        entry = {"path": module, "line": row, "operator": f"{operator} #{occurrence}"}
        (killed if done.returncode != 0 else alive).append(entry)
        print(
            f"{module}:{row} {operator} #{occurrence}: "
            f"{'killed now' if done.returncode else 'STILL SURVIVES'}",
            flush=True,
        )
    return {
        "name": f"{name} (survivors rechecked)" + (f" (lines {lines})" if lines else ""),
        "mutants": len(survivors),
        "killed": len(killed),
        "survivors": alive,
    }


def render(results: dict[str, dict]) -> str:
    """The report as Markdown: one row per module, then every survivor."""
    lines = ["| module | mutants | killed | score |", "|---|---:|---:|---:|"]
    for name, r in results.items():
        score = f"{100 * r['killed'] / r['mutants']:.0f} %" if r["mutants"] else "–"
        lines.append(f"| {name} | {r['mutants']} | {r['killed']} | {score} |")
    for name, r in results.items():
        if r["survivors"]:
            lines += ["", f"Survivors in {name}:"]
            for s in r["survivors"]:
                change = (
                    f"{one_line(s['original'])} -> {one_line(s['replacement'])}"
                    if "original" in s
                    else s["operator"]
                )
                place = f"{s['path']}:{s['line']}" + (f":{s['column']}" if "column" in s else "")
                lines.append(f"- {place} {change}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=["all", "sql", "python"], default="all")
    parser.add_argument(
        "--target", action="append", choices=list(PYTHON_TARGETS), help="Python modules to mutate"
    )
    parser.add_argument("--sql-file", help="only SQL models whose path contains this text")
    parser.add_argument(
        "--sql-at",
        action="append",
        metavar="FILE:LINE",
        help="only the SQL mutants on this line (e.g. sql/marts/x.sql:12; repeatable)",
    )
    parser.add_argument(
        "--sql-mutants",
        choices=["all", *SQL_KINDS],
        default="all",
        help="only one kind of SQL mutant (the flipped comparisons, the window bounds moved by "
        "one, a dropped distinct, join kinds swapped, and/or swapped, a dropped coalesce, "
        "union/union all swapped)",
    )
    parser.add_argument(
        "--lines", help="only mutants on these lines of the Python target (e.g. 37-130,273-297)"
    )
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="rerun only the survivors of the last run of each --target against today's tests",
    )
    parser.add_argument("--out", type=Path, default=REPO / ".mutation", help="report folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        work = copy_checkout(Path(tmp) / "checkout")
        if args.kind in ("all", "sql"):
            kinds = tuple(SQL_KINDS) if args.sql_mutants == "all" else (args.sql_mutants,)
            results.update(run_sql(work, SQL_TESTS, args.sql_file, kinds, args.sql_at))
        if args.kind in ("all", "python"):
            for name in args.target or list(PYTHON_TARGETS):
                module, tests = PYTHON_TARGETS[name]
                run = recheck_python if args.recheck else run_python
                result = run(work, name, module, tests, args.out.resolve(), args.lines)
                results[result.pop("name")] = result
    (args.out / "report.json").write_text(json.dumps(results, indent=2))
    report = render(results)
    (args.out / "report.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
