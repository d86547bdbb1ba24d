"""The documentation stands alone: its links resolve, nothing points outside
the repository, and the tests it cites exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# Files owned by other work in progress that still cite the old location; the
# test fails as soon as one of them is clean, so the list only shrinks.
PENDING: set[str] = set()


def _repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def _anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#+\s+(.*)$", path.read_text(encoding="utf-8"), re.M)
    return {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).strip().replace(" ", "-")
        for heading in headings
    }


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_relative_links_resolve(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    # links inside code are formulas, not links
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve()
        assert resolved.exists(), f"{document.name}: broken link {target}"
        assert ROOT in resolved.parents or resolved == ROOT, (
            f"{document.name}: {target} points outside the repository"
        )
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{document.name}: no #{anchor}"


def test_no_file_points_to_the_shared_folder() -> None:
    offenders, still_pending = [], set()
    for name in _repository_files():
        if name == "tests/test_docs.py" or name.endswith((".png", ".npz")):
            continue
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        if "../shared" in text or "/work/shared" in text or "shared/MATH" in text:
            if name in PENDING:
                still_pending.add(name)
            else:
                offenders.append(name)
    assert not offenders, f"files pointing to ../shared: {offenders}"
    cleaned = PENDING - still_pending
    assert not cleaned, f"{sorted(cleaned)} no longer cite ../shared: drop from PENDING"


def test_the_tests_cited_in_mathematics_md_exist() -> None:
    text = (ROOT / "docs" / "mathematics.md").read_text(encoding="utf-8")
    sources = {
        path.name: path.read_text(encoding="utf-8")
        for path in (ROOT / "tests").glob("test_*.py")
    }
    every_test = "\n".join(sources.values())
    for file_name, test_name in re.findall(r"(test_\w+\.py)::(test_\w+)", text):
        assert file_name in sources, f"no tests/{file_name}"
        assert f"def {test_name}(" in sources[file_name], f"{file_name}::{test_name}"
    for test_name in re.findall(r"`(test_\w+)`", text):
        assert f"def {test_name}(" in every_test, f"no test named {test_name}"
    for section in range(1, 11):
        assert re.search(rf"^## {section}\. ", text, re.M), f"no section {section}"
