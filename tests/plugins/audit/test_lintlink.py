from aegisd_audit.lintlink import _fields, compare


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


def test_a_message_quoting_a_secret_is_kept_redacted() -> None:
    # bandit quotes the string it flags; the audit trail keeps no secret of the code
    found = _fields(issue("B105", message="Possible hardcoded password: 'Sup3rS3cret!'"))
    assert "Sup3rS3cret" not in found["message"]
    assert found["message"].startswith("Possible hardcoded password: ")
    # the same issue before and after a run still matches
    again = _fields(issue("B105", message="Possible hardcoded password: 'Sup3rS3cret!'"))
    assert compare([found], [again]) == ([], [])
