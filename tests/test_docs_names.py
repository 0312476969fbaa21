"""README.md and docs/*.md name only what exists: repository paths, `python -m pipeline` commands
and their flags, `PIPELINE_*` settings, `make` targets, `bench/*.py` flags, constants and code
names.

Code moves fast; a doc naming a file, function, flag or variable that is gone sends a newcomer or
an operator nowhere. Every check reads files (ast, regex): no subprocess and no Dagster or GX
import, so the whole module takes about a second. Markdown links are checked apart, in
test_docs_contracts.py.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest
from helpers import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]

# The folders a backticked repository path starts with; a path starting with anything else
# (landing/, serving/, crm/orders, $DAGSTER_HOME/…) is one of the data directory or of a machine.
ROOTS = ("assets", "bench", "docs", "expectations", "pipeline", "sql", "tests")
# Files named without their folder (`kinds.py:140`, `test_config.py`) are checked by name.
NAMED_BY_NAME = (".py", ".sql", ".json", ".yml")

# Names the docs give on purpose although nothing of the checkout bears them, each with why.
ALLOWED_MISSING = {
    # docs/architecture.md quotes the errors a broken model gives, for a made-up mart `x`.
    "sql/marts/x.sql": "the made-up mart of the quoted model errors",
    "sql/marts/x.yml": "the made-up mart of the quoted model errors",
    "expectations/marts_x.json": "the made-up mart of the quoted suite errors",
    "expectations/staging_x.json": "the made-up suite of scale-out.md's quoted Spark error",
    "sql/<layer>/int_order.sql": "the misspelt table the quoted 'unknown table' error names",
    "sql/x.sql": "the example value of `--sql-at FILE:LINE` in the mutation runner's help",
    "x.sql": "the made-up mart's SQL, in a quoted model error",
    # Gone on purpose: docs that tell what was there before.
    "test_e2e_launchpad.py": "testing.md's before/after table: merged into the daemon test",
    "parts.py": "validation.md's history of the package: the pandas glue that is gone",
    # Not a file: the `sql` attribute of the validator's `good_rows: DeliveredRows` argument.
    "good_rows.sql": "an attribute (pipeline/ingest/core.py DeliveredRows.sql), not a file",
    # Variables that are no setting, named to say they are warned about or left alone.
    "PIPELINE_CHURN_DAY": "the misspelling README.md shows being warned about",
    "PIPELINE_WORKSPACE": "operations.md: another tool's (Azure Pipelines') variable, not ours",
}


def doc_text(page: Path) -> str:
    """The Markdown of a page."""
    return page.read_text(encoding="utf-8")


FENCED = re.compile(r"^ *```[^\n]*\n(.*?)^ *```", flags=re.M | re.S)


def code_spans(text: str) -> list[str]:
    """The inline code spans of a Markdown text (`…`, not fenced blocks); a span wrapped over
    two lines is one span, its line break a space."""
    spans = re.findall(r"(?<!`)`((?:[^`\n]|\n(?!\s*\n))+)`(?!`)", FENCED.sub("", text))
    return [re.sub(r" *\n *", " ", span) for span in spans]


def command_lines(text: str) -> list[str]:
    """Every place a command can be written: inline code spans and lines of fenced blocks
    (also those indented under a list item)."""
    lines = code_spans(text)
    for block in FENCED.findall(text):
        lines += block.splitlines()
    return lines


def in_docs() -> list[tuple[str, str]]:
    """(page name, code span) for every inline code span of README.md and docs/*.md."""
    return [(page.name, span) for page in PAGES for span in code_spans(doc_text(page))]


# --- repository paths ---------------------------------------------------------------------


@functools.cache
def file_names() -> frozenset[str]:
    """The file names under the ROOTS folders (what `kinds.py` or `test_config.py` may mean)."""
    return frozenset(
        path.name
        for root in ROOTS
        for path in (REPO_ROOT / root).rglob("*")
        if "__pycache__" not in path.parts
    )


@functools.cache
def run_tags() -> frozenset[str]:
    """The `pipeline/…` run tags the code sets: `pipeline/as_of` is a tag, not a path."""
    tags: set[str] = set()
    for folder in ("pipeline", "assets"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            tags |= set(re.findall(r"[\"'](pipeline/[a-z_]+)[\"']", path.read_text("utf-8")))
    return frozenset(tags)


def path_tokens(span: str) -> list[str]:
    """The words of a code span that name a file or folder of the checkout."""
    found = []
    for word in span.split():
        # A place in a file (`kinds.py:140`, `x.py::test_y`) or a list (`a.py,`) names the file.
        word = re.sub(r"(::\w+|:[\d–-]+)$", "", word.rstrip(",;:)"))
        if "/" in word and word.split("/")[0] in ROOTS:
            found.append(word)
        elif "/" not in word and word.endswith(NAMED_BY_NAME) and re.fullmatch(r"\w[\w.-]*", word):
            found.append(word)
    return found


def path_problem(word: str) -> str | None:
    """Why ``word`` (a path of the checkout, a placeholder pattern, a bare file name, a run tag)
    names nothing, or None."""
    if word in ALLOWED_MISSING:
        return None
    if "/" not in word:
        return None if word in file_names() else "no file of the checkout has this name"
    if word.split("/")[0] == "pipeline" and word.split("=")[0] in run_tags():
        return None  # a run tag (`pipeline/trigger=watch`), not a path
    if re.search(r"[<*]", word):
        # A placeholder (`sql/marts/<name>.sql`, `tests/test_marts_*.py`) must match something.
        pattern = re.sub(r"<[^>]*>", "*", word).rstrip("/")
        return None if any(REPO_ROOT.glob(pattern)) else "the pattern matches no file"
    path = REPO_ROOT / word
    if path.exists():
        return None
    module, _, name = word.rpartition(".")
    if (REPO_ROOT / f"{module}.py").is_file():  # `pipeline/ingest/core.Ingestion`
        return attribute_problem(f"{module}.py", [name])
    return "no such file or folder"


def test_every_backticked_repository_path_exists() -> None:
    missing = [
        f"{page}: `{word}`: {problem}"
        for page, span in in_docs()
        for word in path_tokens(span)
        if (problem := path_problem(word))
    ]
    assert missing == [], "\n".join(missing)


def test_readme_tree_of_folders_exists() -> None:
    # README.md's "rooms" block: `pipeline/` then its indented `config.py`, `engine/`, … .
    block = next(b for b in FENCED.findall(doc_text(PAGES[0])) if b.startswith("pipeline/ "))
    entries, parent = [], ""
    for indent, name in re.findall(r"^( *)([\w.]+/?|[\w.]+\.py) {2,}", block, flags=re.M):
        parent = name if not indent else parent
        entries.append(name if not indent else parent + name)
    assert len(entries) > 10, entries
    missing = [entry for entry in entries if not (REPO_ROOT / entry).exists()]
    assert missing == [], f"README.md's tree names what is not there: {missing}"


# --- code names -------------------------------------------------------------------------


@functools.cache
def modules() -> dict[str, str]:
    """Dotted module name (`pipeline.ingest.core`, `assets.checks`) -> its file, relative."""
    found = {}
    for folder in ("pipeline", "assets"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            relative = path.relative_to(REPO_ROOT)
            parts = relative.with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = str(relative)
    return found


@functools.cache
def top_level(file: str) -> dict[str, ast.AST]:
    """The names a module defines at its top level (functions, classes, assignments, imports)."""
    names: dict[str, ast.AST] = {}
    for node in ast.parse((REPO_ROOT / file).read_text("utf-8")).body:
        names.update((name, node) for name in defined_names(node))
    return names


def defined_names(node: ast.AST) -> list[str]:
    """The names a statement binds in its scope."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, (ast.If, ast.Try)):  # `if TYPE_CHECKING:`, `try: import …`
        return [name for child in ast.iter_child_nodes(node) for name in defined_names(child)]
    return []


@functools.cache
def unambiguous() -> dict[str, str]:
    """A short name -> the module file it can only mean: a module's last part (`lines`,
    `core`) or a top-level class (`Ingestion`), when exactly one module under pipeline/ or
    assets/ bears it."""
    seen: dict[str, set[str]] = {}
    for dotted, file in modules().items():
        # A package's name (`spark`, `ingest`) is too common a word: `spark.sql.shuffle.partitions`
        # is Spark's setting; only a module file's name stands for it.
        if not file.endswith("__init__.py"):
            seen.setdefault(dotted.rsplit(".", 1)[-1], set()).add(file)
        for name, node in top_level(file).items():
            if isinstance(node, ast.ClassDef):
                seen.setdefault(name, set()).add(f"{file}#{name}")
    return {name: files.pop() for name, files in seen.items() if len(files) == 1}


def attribute_problem(file: str, names: list[str]) -> str | None:
    """Why ``names`` (an attribute, then maybe one of a class) is not in module ``file``."""
    package = (REPO_ROOT / file).parent
    if file.endswith("__init__.py") and any(
        (package / name).exists() for name in (names[0], f"{names[0]}.py")
    ):
        return None  # a sub-module of a package
    node = top_level(file).get(names[0])
    if node is None:
        return f"{file} defines no {names[0]}"
    if len(names) > 1 and isinstance(node, ast.ClassDef):
        return class_problem(file, node, names[1])
    return None


def class_problem(file: str, node: ast.ClassDef, name: str) -> str | None:
    """Why ``name`` is no member of the class ``node`` (a method, a field, a class attribute)."""
    members = {n for child in node.body for n in defined_names(child)}
    if name in members:
        return None
    if node.bases:  # an inherited attribute cannot be told from the file alone
        return None
    return f"{file}: class {node.name} has no {name}"


# `lines.open_quotes`, `Ingestion.land()`, `pipeline.ingest.core.ingest_entity(..., validator=f)`.
CODE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*(?:/[A-Za-z_]\w*)*)+(?:\(.*\))?")
# `config.py`, `report.pdf`: a file name, not a module's attribute.
FILE_SUFFIXES = {"py", "sql", "json", "jsonl", "yml", "yaml", "toml", "md", "csv", "txt", "gz"}
FILE_SUFFIXES |= {"duckdb", "parquet", "pdf", "png", "xlsx", "zip", "lock"}
# The warehouse's schemas: in the docs `serving.published` or `staging.stg_orders` is a table,
# although assets/serving.py and pipeline/ingest/staging.py are modules too.
SCHEMAS = {"meta", "raw", "staging", "intermediate", "marts", "serving"}


def code_name_problem(span: str) -> str | None:
    """Why a dotted code name (`lines.open_quotes`, `core.Ingestion`, `Warehouse.frame()`,
    `pipeline.warehouse.run/rows`) names nothing; None also when it cannot be resolved
    unambiguously to a module of pipeline/ or assets/ (a table, a column, another library)."""
    parts = re.sub(r"\(.*\)$", "", span).split(".")
    if parts[-1] in FILE_SUFFIXES:
        return None
    for n in range(len(parts) - 1, 0, -1):  # the longest dotted module name first
        if (file := modules().get(".".join(parts[:n]))) is not None:
            break
    else:
        if parts[0] in SCHEMAS:
            return None
        file, n = unambiguous().get(parts[0]), 1
        if file is None:
            return None
    if "#" in file:  # `Class.member`
        file, class_name = file.split("#")
        parts, n = [class_name, *parts[1:]], 0
    rest = parts[n:]
    problems = [attribute_problem(file, [one, *rest[1:2]]) for one in rest[0].split("/")]
    return "; ".join(p for p in problems if p) or None


def test_every_resolvable_code_name_exists() -> None:
    missing = [
        f"{page}: `{span}`: {problem}"
        for page, span in in_docs()
        if CODE_NAME.fullmatch(span) and (problem := code_name_problem(span))
    ]
    assert missing == [], "\n".join(missing)


CONSTANT = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
# Upper-case names the docs give that belong to other programs, not to this checkout.
OUTSIDE_CONSTANTS = {
    "BOOLEAN_ONLY": "Great Expectations' result format",
    "DAGSTER_HOME": "Dagster's environment variable",
    "JAVA_HOME": "the JVM's environment variable (Spark)",
    "SPARK_CONF_DIR": "Spark's environment variable",
    "F_GETLK": "the fcntl lock query",
    "SMTP_PASSWORD": "operations.md's example of the operator's own password variable",
}


def test_every_backticked_constant_is_in_the_code() -> None:
    # `MIN_BYTES`, `SLOW_FILES`: a constant of the code (pipeline/, assets/, bench/, tests/),
    # found as a word in some file, as a bare name cannot say which module it meant.
    words: set[str] = set()
    for folder in ("pipeline", "assets", "bench", "tests"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            words |= set(CONSTANT.findall(path.read_text("utf-8")))
    missing = sorted(
        f"{page}: `{span}`"
        for page, span in in_docs()
        if CONSTANT.fullmatch(span)
        and not span.startswith("PIPELINE_")  # the settings, checked below
        and span not in words | OUTSIDE_CONSTANTS.keys()
    )
    assert missing == [], "\n".join(missing)


# --- commands and their flags -------------------------------------------------------------


@functools.cache
def parser_flags(file: str) -> dict[str | None, set[str]]:
    """The options of the argparse parser(s) built in ``file``, read from its source: sub-command
    name (None: the script's own parser) -> its --flags.

    A sub-command is made by ``add_parser("name")`` or by a helper calling it with its first
    argument (``add("run", …)``); a helper taking the parser (``_add_data_dir(run)``) adds the
    options it adds to its parameter.
    """
    tree = ast.parse((REPO_ROOT / file).read_text("utf-8"))
    functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}

    def flags_added_to(scope: ast.AST, var: str) -> set[str]:
        flags = set()
        for call in ast.walk(scope):
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == "add_argument":
                if isinstance(func.value, ast.Name) and func.value.id == var:
                    flags |= {
                        a.value
                        for a in call.args
                        if isinstance(a, ast.Constant) and str(a.value).startswith("--")
                    }
            elif isinstance(func, ast.Name) and func.id in functions and call.args:
                first = call.args[0]
                helper = functions[func.id]
                if isinstance(first, ast.Name) and first.id == var and helper.args.args:
                    flags |= flags_added_to(helper, helper.args.args[0].arg)
        return flags

    def makes_sub_command(func: ast.expr) -> bool:
        if isinstance(func, ast.Attribute):
            return func.attr == "add_parser"
        helper = functions.get(func.id) if isinstance(func, ast.Name) else None
        return helper is not None and any(
            isinstance(c, ast.Call) and makes_sub_command(c.func) for c in ast.walk(helper)
        )

    found: dict[str | None, set[str]] = {}
    for scope in functions.values():
        for node in ast.walk(scope):
            call = node.value if isinstance(node, (ast.Assign, ast.Expr)) else None
            if not isinstance(call, ast.Call) or not call.args:
                continue
            name = call.args[0]
            if makes_sub_command(call.func) and isinstance(name, ast.Constant):
                var = node.targets[0].id if isinstance(node, ast.Assign) else None
                found[name.value] = flags_added_to(scope, var) if var else set()
    for scope in functions.values():  # a script whose parser is made with no argument
        for node in ast.walk(scope):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Attribute)
                and node.value.func.attr == "ArgumentParser"
            ):
                found.setdefault(None, set()).update(flags_added_to(scope, node.targets[0].id))
    return found


@functools.cache
def cli_flags() -> dict[str | None, set[str]]:
    """`python -m pipeline`: each sub-command and its flags (pipeline/__main__.py and the
    sub-commands pipeline/cli/ adds)."""
    found: dict[str | None, set[str]] = {}
    for path in [
        REPO_ROOT / "pipeline" / "__main__.py",
        *(REPO_ROOT / "pipeline/cli").glob("*.py"),
    ]:
        for command, flags in parser_flags(str(path.relative_to(REPO_ROOT))).items():
            if command is not None:
                found.setdefault(command, set()).update(flags)
    return found


def flags_of(words: str) -> set[str]:
    """The --flags of a command line's words, up to a comment."""
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", words.split("#")[0]))


def test_every_documented_pipeline_command_and_flag_exists() -> None:
    commands = cli_flags()
    assert {"run", "watch", "ui", "quarantine", "generate", "demo"} <= commands.keys()
    assert "--as-of" in commands["run"] and "--data-dir" in commands["quarantine"]
    wrong = []
    for page in PAGES:
        for line in command_lines(doc_text(page)):
            for command, words in re.findall(r"python -m pipeline ([a-z][a-z-]*)(.*)", line):
                if command not in commands:
                    wrong.append(f"{page.name}: `python -m pipeline {command}`: no such command")
                for flag in sorted(flags_of(words) - commands.get(command, set()) - {"--help"}):
                    wrong.append(
                        f"{page.name}: `python -m pipeline {command} {flag}`: no such flag"
                    )
    assert wrong == [], "\n".join(wrong)


SCRIPTS = re.compile(r"((?:bench|tests/mutation)/\w+\.py)(.*)")


def test_every_documented_script_flag_exists() -> None:
    # `bench/run.py --scales …`, and `make mutate ARGS="--kind …"` (tests/mutation/run.py).
    wrong = []
    for page in PAGES:
        for line in command_lines(doc_text(page)):
            uses = SCRIPTS.findall(line)
            uses += [
                ("tests/mutation/run.py", a) for a in re.findall(r"make mutate ARGS=(.*)", line)
            ]
            for script, words in uses:
                if not (REPO_ROOT / script).is_file():
                    wrong.append(f"{page.name}: `{script}`: no such script")
                    continue
                known = parser_flags(script).get(None, set()) | {"--help"}
                for flag in sorted(flags_of(words) - known):
                    wrong.append(f"{page.name}: `{script} {flag}`: no such flag")
    assert wrong == [], "\n".join(wrong)


def test_every_documented_make_target_and_variable_exists() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text("utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M))
    variables = set(re.findall(r"\$\((\w+)\)", makefile))
    wrong = []
    for page in PAGES:
        for line in command_lines(doc_text(page)):
            for target, words in re.findall(r"^\s*(?:\$ )?make ([a-z][\w-]*)(.*)", line):
                if target not in targets:
                    wrong.append(f"{page.name}: `make {target}`: no such target")
                for variable in re.findall(r"\b([A-Z]+)=", words.split("#")[0]):
                    if variable not in variables:
                        wrong.append(f"{page.name}: `make {target} {variable}=`: not read")
    assert wrong == [], "\n".join(wrong)


# Flags of other programs that the docs name alone, each with its program.
OUTSIDE_FLAGS = {
    "--strict-markers": "pytest",
    "--durations": "pytest",
    "--no-loadscope-reorder": "pytest-xdist",
    "--delay-updates": "rsync",
}


def test_every_flag_named_alone_is_a_flag_of_the_project() -> None:
    # `--recheck`, `--no-delivery`: a span that starts with a flag names an option of the
    # command line, a bench script or the mutation runner.
    scripts = [*sorted((REPO_ROOT / "bench").glob("*.py")), REPO_ROOT / "tests/mutation/run.py"]
    known = set(OUTSIDE_FLAGS).union(*cli_flags().values())
    for script in scripts:
        known = known.union(*parser_flags(str(script.relative_to(REPO_ROOT))).values())
    unknown = sorted(
        f"{page}: `{span}`"
        for page, span in in_docs()
        if (flag := re.match(r"--[a-z][a-z0-9-]*", span)) and flag.group() not in known
    )
    assert unknown == [], "\n".join(unknown)


# --- settings ---------------------------------------------------------------------------

SETTING = re.compile(r"\bPIPELINE_[A-Z_]+[A-Z]\b")


def test_documented_settings_are_exactly_those_the_code_reads() -> None:
    # pipeline/ and assets/ read them (bench/ only sets them, and names Dagster's legacy
    # PIPELINE_START / PIPELINE_SUCCESS event types, which are no variables).
    read: set[str] = set()
    for folder in ("pipeline", "assets"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            read |= set(SETTING.findall(path.read_text("utf-8")))
    named = {name: page.name for page in PAGES for name in SETTING.findall(doc_text(page))}
    unknown = sorted(
        f"{page}: {n}" for n, page in named.items() if n not in read | ALLOWED_MISSING.keys()
    )
    assert unknown == [], f"named in the docs, read nowhere in the code: {unknown}"
    unnamed = sorted(read - named.keys())
    assert unnamed == [], f"read by the code, named in no doc: {unnamed}"


# --- the checks fail on a stale name ------------------------------------------------------


@pytest.mark.parametrize(
    "problem, stale",
    [
        (path_problem, "pipeline/ingest/lines_gone.py"),
        (path_problem, "tests/test_marts_gone_*.py"),
        (path_problem, "kinds_gone.py"),
        (path_problem, "pipeline/trigger_gone"),
        (path_problem, "pipeline/ingest/core.Ingestion_gone"),
        (code_name_problem, "lines.open_quotes_gone"),
        (code_name_problem, "Ingestion.land_gone()"),
        (code_name_problem, "pipeline.warehouse.run/rows_gone"),
    ],
)
def test_a_stale_name_is_found(problem, stale) -> None:
    assert problem(stale) is not None


def test_the_stale_checks_see_the_names_that_exist() -> None:
    for word in [
        "pipeline/ingest/lines.py",
        "tests/test_marts_*.py",
        "kinds.py",
        "pipeline/trigger",
    ]:
        assert path_problem(word) is None, word
    for name in ["lines.open_quotes", "core.Ingestion", "Ingestion.land()", "words.counted"]:
        assert code_name_problem(name) is None, name
    assert {"--scales", "--engine"} <= parser_flags("bench/run.py")[None]
    assert "--target" in parser_flags("tests/mutation/run.py")[None]
    assert {"--interval", "--data-dir", "--as-of"} <= cli_flags()["watch"]
