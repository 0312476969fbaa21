"""docs/contracts.md is the team's input contract, word for word, so a fresh clone carries it."""

from __future__ import annotations

import re

from conftest import REPO_ROOT, skip_unless_ci

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
