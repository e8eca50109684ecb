"""Comments cite documents a reader of the repository can open: docs/<file>.md#<section>.

Every ``docs/...md`` (with or without ``#section``) named in a Python file must exist, with
a heading of that anchor; no Python file may cite the research notes that live outside the
repository ("reference B", "inbox.md §A7", "shared/reference/..."); the docs' own links
resolve, and every module a doc says uses a fact still exists.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO

DOCS = REPO / "docs"
#: A citation of a doc in code: the path from the repository's root, an optional anchor.
CITATION = re.compile(r"\bdocs/[\w./-]+?\.md(?:#[\w-]+)?")
#: The outside research notes the code used to cite, by name.
OUTSIDE_NAMES = ("inbox", "zalo-oa", "facebook-graph", "anchors", "libraries")
#: How a citation of an outside document looks: a section sign, a bare or foreign path to one
#: of those notes, or "reference B" / "the reference's table" / "our reference".
OUTSIDE = re.compile(
    "|".join(
        [
            "\u00a7",
            r"(?<![\w/.-])(?!docs/)[\w./-]*\b(?:" + "|".join(OUTSIDE_NAMES) + r")\.md\b",
            r"shared/reference",
            r"\breference [A-Z]\b",
            r"\breference(?:'s)? (?:table|section)\b",
            r"\b(?:[Tt]he|our) reference\b(?! to)",
        ]
    )
)
#: Files others are changing: each still cites outside documents on this many lines, to be
#: converted to docs/ citations (the lines are listed in the docs/ change's report). Remove
#: a file once it is converted.
PENDING: dict[str, int] = {}
#: Where Python files of the product, its sandbox, benchmarks and tests live (not virtualenvs
#: or build output).
SKIPPED_PARTS = {"build", "dist", "node_modules", "__pycache__"}


def python_files() -> list[Path]:
    """Every Python file of the checkout, this test excepted (its patterns name the notes)."""
    found = []
    for path in REPO.rglob("*.py"):
        parts = path.relative_to(REPO).parts
        if any(p.startswith(".") or p in SKIPPED_PARTS or p.endswith(".egg-info") for p in parts):
            continue
        if path.resolve() != Path(__file__).resolve():
            found.append(path)
    return sorted(found)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces -> '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The anchors of a Markdown text's headings (outside fenced code), repeats numbered."""
    seen: dict[str, int] = {}
    found = set()
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_citations(text: str, root: Path = REPO) -> list[str]:
    """The ``docs/...md[#section]`` citations in ``text`` whose file or heading is missing."""
    broken = []
    for citation in CITATION.findall(text):
        file, _, anchor = citation.partition("#")
        target = root / file
        if not target.is_file():
            broken.append(f"{citation}: no such file")
        elif anchor and anchor not in anchors(target.read_text(encoding="utf-8")):
            broken.append(f"{citation}: no such section")
    return broken


def test_every_docs_citation_in_the_code_names_a_file_and_section_that_exist():
    broken: list[str] = []
    cited = 0
    for path in python_files():
        text = path.read_text(encoding="utf-8")
        cited += len(CITATION.findall(text))
        broken += [f"{path.relative_to(REPO)}: {b}" for b in broken_citations(text)]
    assert broken == []
    assert cited > 100  # the platform clients, the inbox and the sandbox all cite docs/


def test_no_python_file_cites_a_document_outside_the_repository():
    found: dict[str, list[str]] = {}
    for path in python_files():
        name = path.relative_to(REPO).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if OUTSIDE.search(line):
                found.setdefault(name, []).append(f"{number}: {line.strip()}")
    unexpected = {f: lines for f, lines in found.items() if f not in PENDING}
    assert unexpected == {}
    counts = {f: len(found.get(f, [])) for f in PENDING}
    assert counts == PENDING, "a pending file was converted: update PENDING"


def test_links_between_the_docs_resolve():
    broken = []
    pages = sorted(DOCS.rglob("*.md"))
    assert pages, "docs/ is empty"
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target):
                continue  # an address outside the repository
            file, _, anchor = target.partition("#")
            resolved = (page.parent / file).resolve() if file else page
            if not resolved.exists():
                broken.append(f"{page.relative_to(REPO)}: {target}: no such file")
            elif anchor and anchor not in anchors(resolved.read_text(encoding="utf-8")):
                broken.append(f"{page.relative_to(REPO)}: {target}: no such section")
    assert broken == []


def test_every_module_a_doc_names_exists():
    missing = []
    for page in sorted(DOCS.rglob("*.md")):
        for name in re.findall(r"`((?:content|scheduler|sandbox)(?:\.\w+)+)`", page.read_text()):
            path = REPO / name.replace(".", "/")
            if not (path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()):
                missing.append(f"{page.relative_to(REPO)}: {name}")
    assert missing == []


def test_a_citation_of_a_missing_file_or_section_is_caught(tmp_path: Path):
    page = tmp_path / "docs" / "platforms" / "zalo-oa.md"
    page.parent.mkdir(parents=True)
    page.write_text("# Zalo\n\n## Tokens and refresh\n\n```\n## Not a heading\n```\n")
    text = (
        "# docs/platforms/zalo-oa.md#tokens-and-refresh: fine\n"
        "# docs/platforms/zalo-oa.md#not-a-heading and docs/platforms/zalo-oa.md#webhooks\n"
        "# docs/platforms/facebook-graph.md\n"
    )
    assert broken_citations(text, root=tmp_path) == [
        "docs/platforms/zalo-oa.md#not-a-heading: no such section",
        "docs/platforms/zalo-oa.md#webhooks: no such section",
        "docs/platforms/facebook-graph.md: no such file",
    ]


def test_outside_citations_are_told_from_docs_citations():
    outside = [
        "card text is unreadable at this size (reference B)",
        "(inbox.md §A8, trap E9)",
        "(reference: shared/reference/zalo-oa.md)",
        "see libraries.md section C",
        "Code 10 per the reference's table",
        "not in our reference",
    ]
    inside = [
        "(docs/platforms/zalo-oa.md#reading-conversations-and-profiles)",
        "see docs/libraries.md#pillow-and-vietnamese-text",
        "reference the app's secret as app_secret in channels.toml",
        "The cid: reference only works inside the mail",
        "Raises ConfigError saying which reference failed.",
    ]
    assert [t for t in outside if not OUTSIDE.search(t)] == []
    assert [t for t in inside if OUTSIDE.search(t)] == []


def test_anchors_follow_githubs_rules():
    assert slug("The 24-hour window") == "the-24-hour-window"
    assert slug("Replying to and hiding comments") == "replying-to-and-hiding-comments"
    assert anchors("## Errors\n### Errors\n") == {"errors", "errors-1"}
