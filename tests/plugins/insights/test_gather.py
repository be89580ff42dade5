from __future__ import annotations

from typing import Any

import pytest
from aegisd_codemap.extract import extract_file
from aegisd_codemap.model import FileExtract
from aegisd_insights import gather
from aegisd_insights.gather import (
    ExtractsView,
    IndexMemo,
    clones_from_report,
    evaluate,
    inputs_from_index,
    is_test_path,
    lint_from_report,
)
from aegisd_insights.inputs import (
    ClonePair,
    FileInput,
    ImportCycle,
    ImportEdge,
    ImportHop,
    LintIssue,
)
from aegisd_insights.insight import Thresholds

BRANCHY = "def decide(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(11))


def extracts(files: dict[str, str]) -> dict[str, FileExtract]:
    """The code map's real extractor over in-memory sources."""
    return {path: extract_file(path, text.encode(), False) for path, text in files.items()}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/unit/helpers.py", True),
        ("pkg/test_core.py", True),
        ("pkg/core_test.py", True),
        ("conftest.py", True),
        ("web/app.test.ts", True),
        ("web/__tests__/app.tsx", True),
        ("src/widget.spec.js", True),
        ("pkg/testing_utils.py", False),
        ("pkg/attest.py", False),
        ("pkg/contest.py", False),
    ],
)
def test_test_paths(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


def test_cycles_follow_top_level_imports_along_real_paths() -> None:
    files = extracts(
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\nfrom pkg import c\n",
            "pkg/b.py": "import os\n\n\ndef late():\n    from pkg import a\n",
            "pkg/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import b\n"
            "from pkg import a\n",
        }
    )
    # b imports a only inside a function, c imports b only for type checking: the one cycle
    # of imports that run as the modules load is a <-> c.
    [cycle] = inputs_from_index(files).cycles
    assert cycle == ImportCycle(
        ("pkg/a.py", "pkg/c.py"),
        (ImportHop("pkg/a.py", "pkg/c.py", 2), ImportHop("pkg/c.py", "pkg/a.py", 4)),
    )


def test_inputs_from_real_extracts() -> None:
    files = extracts(
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "from pkg import c\n",
            "pkg/c.py": "import pkg.a\n\n\nclass Thing:\n    def run(self):\n        return 1\n"
            "\n\nclass ThingFactory:\n    pass\n",
            "pkg/logic.py": BRANCHY,
            "tests/test_logic.py": "from pkg.logic import decide\n",
        }
    )
    inputs = inputs_from_index(files)
    [cycle] = inputs.cycles
    assert cycle.files == ("pkg/a.py", "pkg/b.py", "pkg/c.py")
    assert [(h.source, h.target) for h in cycle.hops] == [
        ("pkg/a.py", "pkg/b.py"),
        ("pkg/b.py", "pkg/c.py"),
        ("pkg/c.py", "pkg/a.py"),
    ]
    assert ImportEdge("tests/test_logic.py", "pkg/logic.py") in inputs.imports
    by_path = {f.path: f for f in inputs.files}
    assert by_path["pkg/logic.py"] == FileInput("pkg/logic.py", "python", 23, False)
    assert by_path["tests/test_logic.py"].is_test
    # Only what detectors look at: measured functions, classes named like a pattern.
    measured = {(s.qualname, s.kind): s.complexity for s in inputs.symbols}
    assert measured == {
        ("ThingFactory", "class"): None,
        ("Thing.run", "method"): 1,
        ("decide", "function"): 12,
    }
    high = inputs_from_index(files, floor=2)
    assert {s.qualname for s in high.symbols} == {"ThingFactory", "decide"}


def test_evaluate_gives_insights_and_stage() -> None:
    files = extracts({"pkg/logic.py": BRANCHY, "pkg/a.py": "import pkg.logic\n"})
    lint = (LintIssue("pkg/a.py", "critical", "S602"),)
    found, stage = evaluate(files, lint, None, Thresholds())
    assert [(i.key, i.severity) for i in found] == [
        ("lint_hotspot:pkg/a.py", "critical"),
        ("complexity_hotspot:pkg/logic.py::decide", "medium"),
        ("no_tests", "medium"),
    ]
    assert (stage.stage, stage.metrics.code_files, stage.metrics.loc) == (1, 2, 24)
    tighter = Thresholds(complexity_medium=5, complexity_high=12)
    found, _ = evaluate(files, (), None, tighter)
    assert found[0].key == "complexity_hotspot:pkg/logic.py::decide"
    assert found[0].severity == "high"


def test_lint_report_parsing() -> None:
    report = {
        "status": "fail",
        "summary": {"by_severity": {"critical": 1, "high": 0, "low": 2, "bogus": 4}},
        "files": [
            {
                "path": "b.py",
                "issues": [
                    {"tool": "bandit", "code": "B602", "severity": "critical", "path": "b.py"},
                    {"tool": "ruff", "code": None, "severity": "low", "path": "b.py"},
                ],
            },
            {"path": "a.py", "issues": [{"code": "F401", "severity": "low", "path": "a.py"}]},
            {"path": "c.py", "issues": [{"code": "X", "severity": "urgent", "path": "c.py"}]},
        ],
    }
    issues, summary = lint_from_report(report)
    assert issues == (
        LintIssue("a.py", "low", "F401"),
        LintIssue("b.py", "low", ""),
        LintIssue("b.py", "critical", "B602"),
    )
    assert summary == {"critical": 1, "low": 2}
    assert lint_from_report({}) == ((), {})


def test_clone_report_parsing() -> None:
    report = {
        "clones": [
            {
                "type": 2,
                "similarity": 0.9,
                "a": {"path": "b.py", "start_line": 3, "end_line": 9},
                "b": {"path": "a.py", "start_line": 1, "end_line": 7},
            },
            {"type": 1, "similarity": 1.0, "a": {"path": "x.py"}, "b": None},
        ],
        "hotspots": [{"path": "b.py", "ratio": 0.4}, {"path": 3, "ratio": 0.1}],
    }
    data = clones_from_report(report)
    assert data is not None
    assert data.pairs == (ClonePair("b.py", 3, 9, "a.py", 1, 7, 0.9),)
    assert dict(data.dup_ratio) == {"b.py": 0.4}
    assert clones_from_report({"summary": {}}) is None


def test_memo_follows_edits_like_a_fresh_evaluation() -> None:
    """Reused per-file inputs and graph never hide a change: after each edit the memoised
    inputs equal inputs computed from scratch."""
    sources = {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg import b\n" + BRANCHY,
        "pkg/b.py": "def helper():\n    return 1\n",
    }
    files = extracts(sources)
    memo = IndexMemo()
    assert inputs_from_index(files, memo=memo) == inputs_from_index(files)
    graphed = memo.graphed
    # Same extract objects: everything is reused, down to the graph.
    again = inputs_from_index(dict(files), memo=memo)
    assert again == inputs_from_index(files) and memo.graphed is graphed
    # A body edit: new symbols, same imports, so the same graph.
    files["pkg/b.py"] = extracts({"pkg/b.py": "def helper():\n    return 2\n\ndef more(): pass\n"})[
        "pkg/b.py"
    ]
    edited = inputs_from_index(files, memo=memo)
    assert edited == inputs_from_index(files) and memo.graphed is graphed
    assert "more" in {s.qualname for s in edited.symbols}
    # An import edit: b now imports a, making a cycle; the graph is rebuilt.
    files["pkg/b.py"] = extracts({"pkg/b.py": "from pkg import a\n"})["pkg/b.py"]
    cyclic = inputs_from_index(files, memo=memo)
    assert cyclic == inputs_from_index(files) and memo.graphed is not graphed
    assert [c.files for c in cyclic.cycles] == [("pkg/a.py", "pkg/b.py")]
    # A deleted file leaves the memo too.
    del files["pkg/a.py"]
    assert inputs_from_index(files, memo=memo) == inputs_from_index(files)
    assert set(memo.files) == set(files)


class _Recording(ExtractsView):
    def __init__(self, files: dict[str, FileExtract]) -> None:
        super().__init__(files)
        self.asked: list[list[str] | None] = []

    def select_symbols(self, query: Any, paths: Any = None) -> dict[str, Any]:
        self.asked.append(None if paths is None else sorted(paths))
        return super().select_symbols(query, paths)


def test_an_edit_reads_the_symbols_of_the_edited_file_only() -> None:
    """The memo keeps per file what detectors use; a one-file edit in a large workspace reads
    that file's symbols, not every file's (and a new complexity floor reads all again)."""
    files = extracts({f"pkg/m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(12)})
    view, memo = _Recording(files), IndexMemo()
    inputs_from_index(view, memo=memo)
    files["pkg/m3.py"] = extracts({"pkg/m3.py": BRANCHY})["pkg/m3.py"]
    edited = inputs_from_index(view, memo=memo, floor=10)
    assert view.asked == [None, None]  # the floor changed: all again
    edited = inputs_from_index(view, memo=memo, floor=10)
    files["pkg/m5.py"] = extracts({"pkg/m5.py": BRANCHY.replace("decide", "other")})["pkg/m5.py"]
    edited = inputs_from_index(view, memo=memo, floor=10)
    assert view.asked == [None, None, ["pkg/m5.py"]]
    assert edited == inputs_from_index(files, floor=10)
    assert {s.qualname for s in edited.symbols} == {"decide", "other"}


class _CountedView(ExtractsView):
    """Extracts in memory, counting how many outlines each read asks for."""

    def __init__(self, files: dict[str, FileExtract]) -> None:
        super().__init__(files)
        self.reads: list[int] = []

    def read_outlines(self, paths: Any) -> dict[str, FileExtract]:
        self.reads.append(len(paths))
        return super().read_outlines(paths)


def test_outlines_are_read_a_part_at_a_time_and_the_answer_is_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sources = {f"pkg/m{n}.py": f"from pkg import m{(n + 1) % 7}\n" + BRANCHY for n in range(7)}
    files = extracts({"pkg/__init__.py": "", **sources})
    whole = inputs_from_index(ExtractsView(files))
    monkeypatch.setattr(gather, "READ_PART", 2)
    view, memo = _CountedView(files), IndexMemo()
    assert inputs_from_index(view, memo=memo) == whole and whole.cycles
    assert max(view.reads) <= 2 and sum(view.reads) == len(files)  # each read once
    # An import edit with a memo: the edited file read, then the others' imports, in parts.
    files["pkg/m3.py"] = extracts({"pkg/m3.py": "import os\n"})["pkg/m3.py"]
    view.reads.clear()
    edited = inputs_from_index(view, memo=memo)
    assert edited == inputs_from_index(ExtractsView(files)) and max(view.reads) <= 2
    assert not edited.cycles  # m3 no longer closes the ring
