"""The SDK examples kept in sdk/*/examples are the LogFlux doc's own, character for character.

tests/integration/test_sdk_logflux_examples.py runs these copies against a real Sluice; this
test guards that they still are the doc's text. The doc (the LogFlux "Getting Started" page,
logflux.txt) is not part of the repository: it is read from $SLUICE_SPECS_DIR, else from the
shared specs folder of the development machines, and the test is skipped where neither exists.
The doc prints each example after a column of line numbers, which says how many lines follow.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SPECS = Path(os.environ.get("SLUICE_SPECS_DIR", "/work/shared/specs"))
EXAMPLES = {
    "Python Example": (ROOT / "sdk/python/examples/logflux_quickstart.py", ""),
    "Node.js Example": (ROOT / "sdk/js/examples/logflux-quickstart.js", ""),
    # A Go file needs its package clause, which the doc's snippet leaves out.
    "Go Example": (ROOT / "sdk/go/examples/quickstart/main.go", "package main\n\n"),
}


def doc_example(doc: str, title: str) -> str:
    """The code printed under ``title``: as many lines as the line-number column counts."""
    lines = doc.splitlines()
    i = lines.index(title) + 1
    while not lines[i].strip():
        i += 1
    numbers = 0
    while lines[i].strip() == str(numbers + 1):
        numbers += 1
        i += 1
    assert numbers, f"no line numbers under {title!r}"
    return "\n".join(lines[i:i + numbers]).rstrip("\n") + "\n"


@pytest.mark.skipif(not (SPECS / "logflux.txt").exists(),
                    reason=f"the LogFlux doc is not at {SPECS}/logflux.txt (set SLUICE_SPECS_DIR)")
@pytest.mark.parametrize("title", sorted(EXAMPLES))
def test_the_kept_example_is_the_docs_text(title):
    path, prefix = EXAMPLES[title]
    doc = (SPECS / "logflux.txt").read_text(encoding="utf-8")
    assert path.read_text(encoding="utf-8") == prefix + doc_example(doc, title)


def test_the_line_number_column_delimits_the_example():
    doc = "Intro\n\nPython Example\n\n 1\n 2\n 3\nimport x\n\nx.go()\nNext section\n"
    assert doc_example(doc, "Python Example") == "import x\n\nx.go()\n"
