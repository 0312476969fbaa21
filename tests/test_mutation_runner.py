"""The SQL mutant finder of ``make mutate`` (tests/mutation/run.py) on a model written by hand:
which comparisons it flips and which window lengths it moves by one, and what it leaves alone."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

RUNNER = Path(__file__).parent / "mutation" / "run.py"
_spec = importlib.util.spec_from_file_location("mutation_run", RUNNER)
assert _spec is not None and _spec.loader is not None
run = importlib.util.module_from_spec(_spec)
# dataclasses look their module up in sys.modules while the class is built.
sys.modules["mutation_run"] = run
_spec.loader.exec_module(run)

# Line numbers in the comments: the first line of MODEL is line 1.
MODEL = """\
-- 90 days back: a comment, left alone (age_days < 30)
select
    count(case when age_days < 365 then 1 end) as n_12m,
    count(case when t.open_age_days <= 90 then 1 end) as n_90d,
    date_diff('day', a.last_at, s.as_of) >= 30 as lapsed,
    7 > recency_days as fresh,
    e.score <= 6 as detractor,
    ntile(5) over (order by x) as quintile,
    x / 3600.0 as hours,
    y < settings.churn_days as active,
    'age_days < 45' as label,
    d + interval 2 day as later,
    d - interval '12 months' as earlier,
    cast(d as date) - 1 as day_before,
    first_date + 0 as same_day,
    max(x) over (order by m rows between unbounded preceding and 1 preceding) as prior
from t
"""


def mutated_lines(mutants: list[tuple[int, int, str, str]]) -> list[tuple[int, str]]:
    """Each mutant applied alone to MODEL: its line number and the line as mutated."""
    out = []
    for start, end, _original, replacement in mutants:
        text = MODEL[:start] + replacement + MODEL[end:]
        number = MODEL.count("\n", 0, start) + 1
        out.append((number, text.splitlines()[number - 1].strip()))
    return out


def test_window_lengths_are_moved_by_one_each_way_and_nothing_else():
    # Worked from the rules in the runner's docstring, line by line:
    #   1 comment: skipped by the tokenizer; 3 age_days < 365 (rule 1, a *_days name on the
    #   left); 4 t.open_age_days <= 90 (rule 1, qualified); 5 date_diff(...) >= 30 (rule 1, a
    #   date_diff call); 6 7 > recency_days (rule 1, the name on the right); 7 score <= 6,
    #   8 ntile(5), 9 3600.0 (not whole), 10 settings.churn_days (no number), 11 a string, and
    #   every "then 1": not windows; 12 interval 2 day and 13 interval '12 months' (rule 2);
    #   14 cast(d as date) - 1 and 15 first_date + 0 (rule 4; 0 - 1 is not made); 16 1 preceding
    #   (rule 3; "unbounded preceding" has no number).
    assert mutated_lines(run.bound_mutants(MODEL)) == [
        (3, "count(case when age_days < 364 then 1 end) as n_12m,"),
        (3, "count(case when age_days < 366 then 1 end) as n_12m,"),
        (4, "count(case when t.open_age_days <= 89 then 1 end) as n_90d,"),
        (4, "count(case when t.open_age_days <= 91 then 1 end) as n_90d,"),
        (5, "date_diff('day', a.last_at, s.as_of) >= 29 as lapsed,"),
        (5, "date_diff('day', a.last_at, s.as_of) >= 31 as lapsed,"),
        (6, "6 > recency_days as fresh,"),
        (6, "8 > recency_days as fresh,"),
        (12, "d + interval 1 day as later,"),
        (12, "d + interval 3 day as later,"),
        (13, "d - interval '11 months' as earlier,"),
        (13, "d - interval '13 months' as earlier,"),
        (14, "cast(d as date) - 0 as day_before,"),
        (14, "cast(d as date) - 2 as day_before,"),
        (15, "first_date + 1 as same_day,"),
        (16, "max(x) over (order by m rows between unbounded preceding and 0 preceding) as prior"),
        (16, "max(x) over (order by m rows between unbounded preceding and 2 preceding) as prior"),
    ]


def test_comparisons_are_flipped_outside_comments_and_strings():
    # Lines 3 (<), 4 (<=), 5 (>=), 6 (>), 7 (<=), 10 (<); the "<" of line 1 (a comment) and of
    # line 11 (a string) are not operators.
    assert mutated_lines(run.comparison_mutants(MODEL)) == [
        (3, "count(case when age_days <= 365 then 1 end) as n_12m,"),
        (4, "count(case when t.open_age_days < 90 then 1 end) as n_90d,"),
        (5, "date_diff('day', a.last_at, s.as_of) > 30 as lapsed,"),
        (6, "7 >= recency_days as fresh,"),
        (7, "e.score < 6 as detractor,"),
        (10, "y <= settings.churn_days as active,"),
    ]


def test_sql_mutants_name_the_file_line_and_column(tmp_path):
    models = tmp_path / "sql" / "marts"
    models.mkdir(parents=True)
    (models / "m.sql").write_text("select\n  age_days < 90 as recent\nfrom t\n")
    # Line 2 is "  age_days < 90 as recent": "<" at column 12, "90" at column 14; offsets count
    # the 7 characters of "select\n" first.
    got = run.sql_mutants(tmp_path / "sql")
    assert [
        (m.path, m.line, m.column, m.start, m.original, m.replacement, m.kind) for m in got
    ] == [
        ("sql/marts/m.sql", 2, 12, 18, "<", "<=", "comparison"),
        ("sql/marts/m.sql", 2, 14, 20, "90", "89", "bound"),
        ("sql/marts/m.sql", 2, 14, 20, "90", "91", "bound"),
    ]
    assert [m.kind for m in run.sql_mutants(tmp_path / "sql", ("bound",))] == ["bound", "bound"]


def test_every_python_target_names_a_module_and_tests_that_exist():
    # A moved module or a renamed test would only show when the target's unmutated run fails;
    # and every target is listed in docs/testing.md, where its results are recorded.
    repo = RUNNER.parents[2]
    docs = (repo / "docs" / "testing.md").read_text()
    for name, (module, tests) in run.PYTHON_TARGETS.items():
        assert (repo / module).is_file(), name
        assert f"`{name}`" in docs, name
        for test in (t for t in tests if not t.startswith("--")):
            path, _, function = test.partition("::")
            assert (repo / path).is_file(), test
            assert not function or f"def {function}(" in (repo / path).read_text(), test


# The meaning-changing kinds, on a second model written by hand; line 1 is the first line.
MEANING = """\
-- count(distinct x), left join, a or b, coalesce(y, 0), union all: a comment, left alone
with last as (
    select distinct customer_id from orders
    where status = 'paid' and (amount > 0 or is_gift)
    union all
    select customer_id from gifts
    union
    select customer_id from refunds
)
select
    count(distinct o.order_id) as orders,
    sum(distinct(o.amount)) as amounts,
    coalesce(sum(o.amount), 0) as revenue,
    coalesce(c.is_active, false) as is_active,
    coalesce(c.language, 'unknown') as language,
    coalesce(c.a, c.b) as a_or_b,
    coalesce(c.a, c.b, 0) as any_of,
    coalesce(c.delta, -1) as delta,
    case when c.x between 1 and 5 and c.y then 'and or' end as band,
    max(x) over (order by m rows between 2 preceding and current row) as recent
from customers as c
left join orders as o on o.customer_id = c.customer_id and o.status = 'paid'
join last using (customer_id)
inner join regions as r on r.id = c.region_id
left outer join notes as n on n.id = c.id
cross join settings
full join others as x on x.id = c.id
"""


def meaning_lines(mutants: list[tuple[int, int, str, str]]) -> list[tuple[int, str]]:
    """Each mutant applied alone to MEANING: its line number and the line as mutated."""
    out = []
    for start, end, _original, replacement in mutants:
        text = MEANING[:start] + replacement + MEANING[end:]
        number = MEANING.count("\n", 0, start) + 1
        out.append((number, text.splitlines()[number - 1].strip()))
    return out


def test_distinct_is_dropped_only_inside_an_aggregate_call():
    # Line 11 count(distinct …) and line 12 sum(distinct(…)); line 3's "select distinct" is
    # not an aggregate's and line 1 is a comment.
    assert meaning_lines(run.distinct_mutants(MEANING)) == [
        (11, "count(o.order_id) as orders,"),
        (12, "sum((o.amount)) as amounts,"),
    ]


def test_left_joins_become_joins_and_inner_joins_left_joins():
    # Line 22 left join → join, 23 join → left join, 24 inner join → left join, 25 left outer
    # join → join; the cross join (26, no condition to miss) and the full join (27) are left.
    assert meaning_lines(run.join_mutants(MEANING)) == [
        (22, "join orders as o on o.customer_id = c.customer_id and o.status = 'paid'"),
        (23, "left join last using (customer_id)"),
        (24, "left join regions as r on r.id = c.region_id"),
        (25, "join notes as n on n.id = c.id"),
    ]


def test_and_and_or_swap_except_the_and_of_between():
    # Line 4 has an and and an or; line 19 a "between 1 and 5" (left) then a boolean and; line
    # 20's frame "between 2 preceding and current row" is not a boolean; line 22's on … and;
    # the string 'and or' (19) and the comment (1) are not operators.
    assert meaning_lines(run.logic_mutants(MEANING)) == [
        (4, "where status = 'paid' or (amount > 0 or is_gift)"),
        (4, "where status = 'paid' and (amount > 0 and is_gift)"),
        (19, "case when c.x between 1 and 5 or c.y then 'and or' end as band,"),
        (22, "left join orders as o on o.customer_id = c.customer_id or o.status = 'paid'"),
    ]


def test_coalesce_to_a_literal_is_dropped():
    # Lines 13 (a number after a call), 14 (false), 15 (a string), 18 (a negative number);
    # 16 falls back to a column and 17 has three arguments: not a default, left alone.
    assert meaning_lines(run.coalesce_mutants(MEANING)) == [
        (13, "(sum(o.amount)) as revenue,"),
        (14, "(c.is_active) as is_active,"),
        (15, "(c.language) as language,"),
        (18, "(c.delta) as delta,"),
    ]


def test_union_and_union_all_swap():
    assert meaning_lines(run.union_mutants(MEANING)) == [(5, "union"), (7, "union all")]


def test_every_kind_is_found_by_sql_mutants_and_named_in_the_report(tmp_path):
    models = tmp_path / "sql" / "marts"
    models.mkdir(parents=True)
    (models / "m.sql").write_text(MEANING)
    kinds = ("distinct", "join", "logic", "coalesce", "union")
    got = run.sql_mutants(tmp_path / "sql", kinds)
    # 2 + 4 + 4 + 4 + 2 mutants, as counted in the tests above; every kind has its report row.
    assert [m.kind for m in got].count("join") == 4
    assert len(got) == 16
    assert set(run.SQL_KINDS) == {"comparison", "bound", *kinds} == set(run.FINDERS)
    first = got[0]
    assert (first.path, first.line, first.column, first.original, first.replacement) == (
        "sql/marts/m.sql",
        11,
        11,
        "distinct ",
        "",
    )


def test_a_mutant_over_several_lines_is_reported_on_one():
    results = {
        "sql (coalesce to a literal in sql/)": {
            "mutants": 1,
            "killed": 0,
            "survivors": [
                {
                    "path": "sql/marts/m.sql",
                    "line": 3,
                    "column": 5,
                    "original": "coalesce(\n    a <= b,\n    false\n)",
                    "replacement": "(a <= b)",
                }
            ],
        }
    }
    assert run.render(results).splitlines()[-1] == (
        "- sql/marts/m.sql:3:5 coalesce( a <= b, false ) -> (a <= b)"
    )
