from aegisd_audit.lintlink import compare


def issue(code: str, path: str = "a.py", line: int = 1, message: str = "m") -> dict:
    return {
        "tool": "ruff", "code": code, "severity": "low", "path": path, "line": line,
        "message": message,
    }  # fmt: skip


def test_issues_match_by_tool_code_path_and_message_not_line() -> None:
    before = [issue("F401", line=3), issue("E501"), issue("E501"), issue("B006", "b.py")]
    after = [issue("F401", line=9), issue("E501", line=5), issue("S101", "c.py")]
    introduced, fixed = compare(before, after)
    assert introduced == [issue("S101", "c.py")]
    assert fixed == [issue("E501"), issue("B006", "b.py")]  # one of the two E501 is gone


def test_nothing_changed() -> None:
    issues = [issue("F401"), issue("F841", "b.py")]
    assert compare(issues, list(reversed(issues))) == ([], [])
