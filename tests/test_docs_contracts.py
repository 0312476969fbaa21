"""docs/contracts.md is the team's input contract, word for word, so a fresh clone carries it."""

from __future__ import annotations

import re

from helpers import REPO_ROOT, skip_unless_ci

SPEC = REPO_ROOT.parent / "shared" / "spec" / "contracts.md"


def test_docs_contracts_equal_the_spec() -> None:
    if not SPEC.is_file():
        skip_unless_ci("../shared/spec/contracts.md is not present")
    ours = (REPO_ROOT / "docs" / "contracts.md").read_text()
    header, _, body = ours.partition("\n\n")
    assert header.startswith("<!-- A copy of the team spec")
    assert body == SPEC.read_text(), "docs/contracts.md differs from ../shared/spec/contracts.md"


def test_no_doc_links_outside_the_repository() -> None:
    # Every relative Markdown link in README and docs/ names a file of the checkout.
    for page in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_every_open_rule_cited_is_written_once() -> None:
    rules_doc = (REPO_ROOT / "docs" / "open-rules.md").read_text()
    written = re.findall(r"^\| (R\d+) \|", rules_doc, flags=re.MULTILINE)
    assert len(written) == len(set(written)), "a rule number is used twice"
    places = [*(REPO_ROOT / "tests" / "oracle").glob("*.py"), *(REPO_ROOT / "sql").rglob("*.yml")]
    cited = {
        (rule, path.name)
        for path in places
        for rule in re.findall(r"open-rules\.md (R\d+)", path.read_text())
    }
    assert {rule for rule, _ in cited} == set(written), "a rule is cited but not written, or unused"
    for rule in written:
        # Each rule is cited by the oracle and by a model's description: written once, used twice.
        where = {name for r, name in cited if r == rule}
        assert any(n.endswith(".py") for n in where) and any(n.endswith(".yml") for n in where), (
            rule
        )


def test_every_documented_command_exists() -> None:
    # `make X` (a code span or a shell line) in README and docs/ is a Makefile target, and
    # `python -m pipeline X` a sub-command of the command line whose --help works.
    from pipeline.__main__ import main

    text = "\n".join(
        page.read_text()
        for page in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    )
    targets = set(re.findall(r"^([a-z]+):", (REPO_ROOT / "Makefile").read_text(), re.M))
    made = set(re.findall(r"(?:`|^)make ([a-z]+)", text, re.M))
    assert {"demo", "test", "ui", "bench", "mutate"} <= made
    assert made <= targets, made - targets
    commands = set(re.findall(r"python -m pipeline ([a-z]+)", text))
    assert {"run", "ui", "quarantine", "graph", "docs"} <= commands
    for command in commands:
        try:
            main([command, "--help"])
        except SystemExit as done:
            assert done.code == 0, command
