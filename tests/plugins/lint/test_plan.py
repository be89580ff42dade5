"""Pass scopes and cache keys: what a change, a config edit or named paths make a tool check."""

from pathlib import Path

from aegisd_lint.deps import Dependencies
from aegisd_lint.importmap import ImportMap
from aegisd_lint.mypy import Mypy
from aegisd_lint.plan import MAX_TRACED, changed_scope, config_digest, keys, selected_scope
from aegisd_lint.pytest import Pytest
from aegisd_lint.ruff import Ruff

HASHES = {
    "pkg/util.py": "U",
    "pkg/core.py": "C",
    "pkg/other.py": "O",
    "tests/conftest.py": "K",
    "tests/test_core.py": "T",
    "tests/test_other.py": "TO",
    "README.md": "R",
    "pyproject.toml": "P",
}
GRAPH = ImportMap(
    {
        "pkg/util.py": {},
        "pkg/core.py": {"pkg/util.py": 1},
        "pkg/other.py": {},
        "tests/conftest.py": {},
        "tests/test_core.py": {"pkg/core.py": 1},
        "tests/test_other.py": {"pkg/other.py": 1},
    }
)
PATHS = sorted(HASHES)


def _deps(**changed: str) -> Dependencies:
    return Dependencies({**HASHES, **changed}, GRAPH)


def _defaults(tool: Ruff | Mypy | Pytest) -> list[str]:
    return tool.default_files(PATHS, Path("/nonexistent"))


def test_a_per_file_tool_checks_only_the_changed_files() -> None:
    changes = {"pkg/util.py": "modified", "README.md": "modified", "gone.py": "deleted"}
    assert changed_scope(Ruff(), changes, _defaults(Ruff()), _deps()) == ["pkg/util.py"]


def test_mypy_checks_the_changed_files_and_their_importers() -> None:
    scope = changed_scope(Mypy(), {"pkg/util.py": "modified"}, _defaults(Mypy()), _deps())
    assert scope == ["pkg/core.py", "pkg/util.py", "tests/test_core.py"]


def test_pytest_runs_the_tests_a_change_affects() -> None:
    defaults = _defaults(Pytest())
    assert defaults == ["tests/test_core.py", "tests/test_other.py"]
    assert changed_scope(Pytest(), {"pkg/util.py": "modified"}, defaults, _deps()) == [
        "tests/test_core.py"
    ]
    # a conftest affects every test under it
    everything = changed_scope(Pytest(), {"tests/conftest.py": "modified"}, defaults, _deps())
    assert everything == defaults


def test_a_config_file_or_a_large_batch_brings_in_the_whole_default_scope() -> None:
    defaults = _defaults(Ruff())
    assert changed_scope(Ruff(), {"pyproject.toml": "modified"}, defaults, _deps()) == defaults
    many = {f"new{i}.py": "created" for i in range(MAX_TRACED + 1)}
    assert changed_scope(Mypy(), many, _defaults(Mypy()), _deps()) == _defaults(Mypy())


def test_named_paths_are_checked_even_outside_the_default_scope() -> None:
    defaults = ["tests/test_core.py"]  # as if testpaths left tests/test_other.py out
    selected = ["tests/test_other.py", "pkg/core.py"]
    assert selected_scope(Pytest(), selected, defaults, _deps()) == [
        "tests/test_core.py",  # imports pkg/core.py
        "tests/test_other.py",
    ]
    assert selected_scope(Ruff(), ["pkg/core.py", "README.md"], [], _deps()) == ["pkg/core.py"]


def test_per_file_keys_follow_only_the_files_own_content() -> None:
    files = ["pkg/core.py", "pkg/util.py"]
    before = keys(Ruff(), files, _deps(), "1.0", "cfg")
    after = keys(Ruff(), files, _deps(**{"pkg/util.py": "U2"}), "1.0", "cfg")
    assert before["pkg/core.py"] == after["pkg/core.py"]
    assert before["pkg/util.py"] != after["pkg/util.py"]
    assert keys(Ruff(), files, _deps(), "1.1", "cfg")["pkg/core.py"] != before["pkg/core.py"]
    assert keys(Ruff(), files, _deps(), "1.0", "cfg2")["pkg/core.py"] != before["pkg/core.py"]


def test_whole_program_keys_follow_imports_and_conftest() -> None:
    files = ["pkg/core.py", "pkg/other.py", "tests/test_core.py", "tests/test_other.py"]
    before = keys(Mypy(), files, _deps(), "1", "c")
    after = keys(Mypy(), files, _deps(**{"pkg/util.py": "U2"}), "1", "c")
    assert [p for p in files if before[p] != after[p]] == ["pkg/core.py", "tests/test_core.py"]
    tests = ["tests/test_core.py", "tests/test_other.py"]
    before = keys(Pytest(), tests, _deps(), "1", "c")
    after = keys(Pytest(), tests, _deps(**{"tests/conftest.py": "K2"}), "1", "c")
    assert all(before[p] != after[p] for p in tests)


def test_config_digest_covers_config_files_and_extra_args(tmp_path: Path) -> None:
    plain = config_digest(Ruff(), tmp_path, [])
    assert config_digest(Ruff(), tmp_path, ["--select", "E"]) != plain
    (tmp_path / "ruff.toml").write_text("line-length = 90\n")
    assert config_digest(Ruff(), tmp_path, []) != plain
