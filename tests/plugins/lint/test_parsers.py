"""Parsers and command lines on their own: chunk boundaries, odd positions, config choices."""

import json
import os
from pathlib import Path

import pytest
from aegisd_lint.bandit import Bandit, BanditParser
from aegisd_lint.issues import Severity, Totals
from aegisd_lint.mypy import Mypy, MypyParser
from aegisd_lint.pytest import Pytest, PytestParser, parse_junit
from aegisd_lint.ruff import severity as ruff_severity
from aegisd_lint.tool import RunContext, ToolFailure


def _ctx(root: Path, files: tuple[str, ...] | None = None) -> RunContext:
    return RunContext(
        root=root,
        files=files,
        scratch_dir=root / "scratch",
        cache_dir=root / "cache",
        python=None,
        exclude_dirs=frozenset({"venv", "build"}),
    )


MYPY_LINES = [
    # mypy's own output for a module found twice: no code, positions -1
    {"file": "venv/lib/bad.py", "line": -1, "column": -1, "end_line": -1, "end_column": 0,
     "message": "Duplicate module named \"bad\"", "hint": None, "code": None,
     "severity": "error"},
    {"file": "b.py", "line": 1, "column": 9, "end_line": 1, "end_column": 12,
     "message": "Incompatible types in assignment", "hint": "Use \"-> None\"",
     "code": "assignment", "severity": "error"},
    {"file": "c.py", "line": 2, "column": 1, "end_line": 2, "end_column": 2,
     "message": "Unexpected EOF while parsing", "hint": None, "code": "syntax",
     "severity": "error"},
]  # fmt: skip


def test_json_lines_split_anywhere_parse_the_same(tmp_path: Path) -> None:
    output = "".join(json.dumps(line) + "\n" for line in MYPY_LINES).encode()
    parser = MypyParser(_ctx(tmp_path))
    for offset in range(len(output)):
        parser.feed(output[offset : offset + 1])
    issues = parser.finish(1, "").issues
    assert [(i.path, i.line, i.column, i.end_line, i.end_column) for i in issues] == [
        ("venv/lib/bad.py", 1, 1, None, 1),
        ("b.py", 1, 10, 1, 13),
        ("c.py", 2, 2, 2, 3),
    ]
    assert [i.severity for i in issues] == [Severity.MEDIUM, Severity.MEDIUM, Severity.HIGH]
    assert issues[1].fix == 'Use "-> None"' and issues[0].code is None


def test_a_last_line_without_newline_is_parsed(tmp_path: Path) -> None:
    parser = MypyParser(_ctx(tmp_path))
    parser.feed(json.dumps(MYPY_LINES[1]).encode())
    assert len(parser.finish(1, "").issues) == 1


def test_a_line_of_the_wrong_shape_is_bad_output(tmp_path: Path) -> None:
    parser = MypyParser(_ctx(tmp_path))
    parser.feed(b'{"file": "a.py"}\n')
    with pytest.raises(ToolFailure) as failure:
        parser.finish(1, "")
    assert failure.value.code == "BAD_OUTPUT"


def test_a_file_bandit_could_not_scan_has_no_verdict(tmp_path: Path) -> None:
    parser = BanditParser(_ctx(tmp_path))
    doc = {"errors": [{"filename": "./c.py", "reason": "syntax error"}], "results": []}
    parser.feed(json.dumps(doc).encode())
    parsed = parser.finish(1, "")
    assert parsed.issues == [] and parsed.unchecked == {"c.py"}
    assert parsed.incomplete == "bandit could not scan 1 file(s), first c.py: syntax error"


@pytest.mark.parametrize(
    ("code", "severity"),
    [
        ("invalid-syntax", Severity.HIGH),
        ("E999", Severity.HIGH),
        ("F821", Severity.HIGH),
        ("F632", Severity.HIGH),
        ("F401", Severity.MEDIUM),
        ("B006", Severity.MEDIUM),
        ("S301", Severity.MEDIUM),
        ("E501", Severity.LOW),
        ("I001", Severity.LOW),
    ],
)
def test_ruff_severity(code: str, severity: Severity) -> None:
    assert ruff_severity(code) is severity


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="0" tests="3">
<testcase classname="tests.test_a" name="test_ok" file="tests/test_a.py" line="3"/>
<testcase classname="tests.test_a.TestX" name="test_helper" file="tests/test_a.py" line="9">
<failure message="ValueError: deep">def test_helper(self):
&gt;       helper()

tests/test_a.py:11:
_ _ _

    def helper():
&gt;       raise ValueError("deep")
E       ValueError: deep

tests/helpers.py:2: ValueError</failure></testcase>
<testcase classname="tests.test_a" name="test_no_trace" file="tests/test_a.py" line="20">
<failure message="[XPASS(strict)] ">[XPASS(strict)] </failure></testcase>
</testsuite></testsuites>
"""


def test_junit_lines_come_from_the_tests_own_frame(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT)
    parsed = parse_junit(tmp_path / "junit.xml", tmp_path)
    assert parsed.totals == Totals(passed=1, failed=2)
    assert [(i.line, i.message) for i in parsed.issues] == [
        (11, "tests/test_a.py::TestX::test_helper: ValueError: deep"),
        (21, "tests/test_a.py::test_no_trace: [XPASS(strict)] "),  # def line, 0-based + 1
    ]


def test_mypy_workspace_command_respects_the_workspaces_config(tmp_path: Path) -> None:
    options = Mypy().options(_ctx(tmp_path))
    assert options[options.index("--exclude") + 1] == "(^|/)(build|venv)/"
    assert Mypy().targets(_ctx(tmp_path)) == ["."]
    (tmp_path / "pyproject.toml").write_text('[tool.mypy]\nfiles = ["src"]\nexclude = "x"\n')
    assert "--exclude" not in Mypy().options(_ctx(tmp_path))
    assert Mypy().targets(_ctx(tmp_path)) == []
    # mypy.ini wins over pyproject.toml, as in mypy
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n")
    assert Mypy().targets(_ctx(tmp_path)) == ["."]
    assert Mypy().targets(_ctx(tmp_path, ("-odd.py",))) == ["./-odd.py"]


def test_pytest_uses_the_roots_config_or_none(tmp_path: Path) -> None:
    def config(root: Path) -> str:
        options = Pytest().options(_ctx(root))
        return options[options.index("-c") + 1]

    assert config(tmp_path) == os.devnull
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\n")
    assert config(tmp_path) == os.devnull
    (tmp_path / "setup.cfg").write_text("[tool:pytest]\naddopts = -q\n")
    assert config(tmp_path) == str(tmp_path / "setup.cfg")
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    assert config(tmp_path) == str(tmp_path / "pyproject.toml")
    assert Pytest().targets(_ctx(tmp_path)) == []


def test_bandit_picks_up_the_workspaces_config(tmp_path: Path) -> None:
    assert Bandit().options(_ctx(tmp_path, ("a.py",))) == ["-f", "json", "-q"]
    (tmp_path / "pyproject.toml").write_text("[tool.bandit]\nskips = ['B101']\n")
    whole = Bandit().options(_ctx(tmp_path))
    assert whole[3:] == ["-c", "pyproject.toml", "-r", "-x", "*/build/*,*/venv/*"]


def test_pytest_usage_errors_and_broken_xml_are_errors(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    parser = PytestParser(ctx, tmp_path / "junit.xml")
    parser.feed(b"x" * 10_000 + b"INTERNALERROR> boom")
    with pytest.raises(ToolFailure) as usage:
        parser.finish(4, "ERROR: unrecognized arguments: --bogus")
    assert usage.value.code == "TOOL_FAILED"
    assert "--bogus" in usage.value.message and usage.value.message.endswith("boom")
    (tmp_path / "junit.xml").write_text("<testsuites><testcase")
    with pytest.raises(ToolFailure) as broken:
        parser.finish(1, "")
    assert broken.value.code == "BAD_OUTPUT"


FILES = ["a.py", "src/b.py", "src/gen/c.py", "src/d.pyi", "tests/test_x.py", "slow/test_y.py"]


def test_mypy_default_files_follow_its_files_and_exclude(tmp_path: Path) -> None:
    assert Mypy().default_files([*FILES, "notes.txt"], tmp_path) == FILES
    (tmp_path / "pyproject.toml").write_text(
        '[tool.mypy]\nfiles = ["src"]\nexclude = ["(^|/)gen/"]\n'
    )
    assert Mypy().default_files(FILES, tmp_path) == ["src/b.py", "src/d.pyi"]
    (tmp_path / "mypy.ini").write_text("[mypy]\nfiles = a.py, tests\nexclude = [unclosed\n")
    assert Mypy().default_files(FILES, tmp_path) == ["a.py", "tests/test_x.py"]


def test_pytest_default_files_are_test_files_under_testpaths(tmp_path: Path) -> None:
    assert Pytest().default_files(FILES, tmp_path) == ["tests/test_x.py", "slow/test_y.py"]
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests other\n")
    assert Pytest().default_files(FILES, tmp_path) == ["tests/test_x.py"]
    (tmp_path / "pytest.ini").unlink()
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["s*"]\n')
    assert Pytest().default_files(FILES, tmp_path) == ["slow/test_y.py"]
    assert Pytest().applies_to("slow/test_y.py") and not Pytest().applies_to("src/b.py")


def test_a_mypy_run_stopped_by_a_blocking_error_gives_verdicts_only_where_it_reported(
    tmp_path: Path,
) -> None:
    """mypy exits 2 after a syntax error without checking the rest: those files have none."""
    parser = MypyParser(_ctx(tmp_path, ("b.py", "c.py", "d.py")))
    parser.feed(json.dumps(MYPY_LINES[2]).encode() + b"\n")
    parsed = parser.finish(2, "")
    assert [(i.path, i.code) for i in parsed.issues] == [("c.py", "syntax")]
    assert parsed.unchecked == {"b.py", "d.py"}
    assert parsed.incomplete and "c.py:2" in parsed.incomplete
    # a crash after some output is no complete verdict either
    crashed = MypyParser(_ctx(tmp_path, ("b.py", "c.py")))
    crashed.feed(json.dumps(MYPY_LINES[1]).encode() + b"\n")
    parsed = crashed.finish(2, "b.py: error: INTERNAL ERROR -- Please try using mypy master\n")
    assert (
        parsed.unchecked == {"c.py"} and parsed.incomplete and "INTERNAL ERROR" in parsed.incomplete
    )
    # exit 1: issues found, every file checked
    complete = MypyParser(_ctx(tmp_path, ("b.py", "c.py")))
    complete.feed(json.dumps(MYPY_LINES[1]).encode() + b"\n")
    assert complete.finish(1, "").incomplete is None


@pytest.mark.parametrize(
    ("tail", "returncode", "why"),
    [
        ("!!!!!! stopping after 1 failures !!!!!!\n1 failed in 0.1s\n", 1, "stopping after 1"),
        ("!!!!!! _pytest.outcomes.Exit: bye !!!!!!\nno tests ran\n", 2, "Exit: bye"),
        ("!!!!!! KeyboardInterrupt !!!!!!\n", 2, "exited with 2"),
    ],
)
def test_a_pytest_session_stopped_before_the_end_gives_no_verdicts(
    tmp_path: Path, tail: str, returncode: int, why: str
) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT)  # what it wrote holds the tests that ran
    parser = PytestParser(_ctx(tmp_path, ("tests/test_a.py",)), tmp_path / "junit.xml")
    parser.feed(tail.encode())
    parsed = parser.finish(returncode, "")
    assert parsed.issues == [] and parsed.unchecked is None
    assert parsed.incomplete and why in parsed.incomplete


def test_pytest_runs_every_test_whatever_its_config_says(tmp_path: Path) -> None:
    assert "--maxfail=0" in Pytest().options(_ctx(tmp_path))


def test_mypy_names_the_config_that_would_run_workspace_code(tmp_path: Path) -> None:
    assert Mypy().workspace_code(tmp_path) is None
    (tmp_path / "setup.cfg").write_text("[mypy]\nplugins = pydantic.mypy, sqlmypy\n")
    assert "pydantic.mypy, sqlmypy" in (Mypy().workspace_code(tmp_path) or "")
    (tmp_path / "pyproject.toml").write_text('[tool.mypy]\npython_executable = "./py"\n')
    assert "python_executable" in (Mypy().workspace_code(tmp_path) or "")
    (tmp_path / "mypy.ini").write_text("[mypy]\nplugins =\n    custom_plugin.py\n")
    assert "custom_plugin.py" in (Mypy().workspace_code(tmp_path) or "")
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n")  # the first config wins
    assert Mypy().workspace_code(tmp_path) is None
