"""`index.status`'s counts are kept as the facts change (a poll never walks every file), and
always equal a count of the facts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from aegisd_codemap.extract import extract_file
from aegisd_codemap.index import WorkspaceIndex

from tests.plugins.codemap.test_sqlsearch import _index


def _recounted(index: WorkspaceIndex) -> dict[str, Any]:
    facts = index.facts.values()
    return {
        "files": len(index.facts),
        "symbols": sum(f.symbols for f in facts),
        "languages": dict(sorted(Counter(f.language for f in facts if f.language).items())),
        "files_with_errors": sum(f.errors > 0 for f in facts),
        "stale_files": sum(f.stale for f in facts),
    }


class _Unwalkable(dict[str, Any]):
    """Facts that fail a test when walked: a status must not cost a pass over every file."""

    def values(self) -> Any:
        raise AssertionError("the facts were walked")

    def items(self) -> Any:
        raise AssertionError("the facts were walked")

    def __iter__(self) -> Any:
        raise AssertionError("the facts were walked")


def _apply(index: WorkspaceIndex, path: str, text: str) -> None:
    extract = extract_file(path, text.encode(), False)
    previous = index.read(path) if index.needs_previous(extract) else None
    index.apply(extract, f"h-{hash(text)}", previous)


def test_the_status_counts_follow_apply_remove_and_load(tmp_path: Path) -> None:
    index, db = _index(tmp_path)
    db.close()  # nothing is stored here
    _apply(index, "a.py", "def f():\n    pass\n")
    _apply(index, "b.ts", "export function g() {}\n")
    _apply(index, "README.md", "# readme\n")
    assert index.status() == _recounted(index)
    _apply(index, "a.py", "def f(:\n")  # an error: stale, keeps its last good outline
    assert index.status() == _recounted(index)
    assert index.status()["stale_files"] == 1 and index.status()["files_with_errors"] == 1
    _apply(index, "a.py", "def f():\n    return 1\n")  # fixed
    index.remove("b.ts")
    index.remove("gone.py")  # never indexed: nothing counted
    status = index.status()
    assert status == _recounted(index) and status["stale_files"] == 0
    assert "typescript" not in status["languages"]
    (tmp_path / "again").mkdir()
    fresh, again = _index(tmp_path / "again")
    again.close()
    fresh.load(dict(index.facts))
    expected = _recounted(index)
    assert fresh.status() == expected
    fresh.facts = _Unwalkable(fresh.facts)
    assert fresh.status() == expected
