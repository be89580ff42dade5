"""config_hash, cache_key and affected_tests."""

import os
from collections.abc import Iterable
from pathlib import Path

from aegisd_lint.configfiles import ini_section, pyproject_table
from aegisd_lint.incremental import affected_tests, cache_key, config_hash
from aegisd_lint.mypy import Mypy
from aegisd_lint.pytest import Pytest
from aegisd_lint.ruff import Ruff
from aegisd_lint.tool import RunContext

from tests.fifoguard import released_if_blocked


def test_config_hash_follows_the_tools_config_files(tmp_path: Path) -> None:
    empty = config_hash(Ruff(), tmp_path)
    (tmp_path / "ruff.toml").write_text("line-length = 100\n")
    with_ruff_toml = config_hash(Ruff(), tmp_path)
    assert with_ruff_toml != empty
    (tmp_path / "ruff.toml").write_text("line-length = 120\n")
    assert config_hash(Ruff(), tmp_path) not in (empty, with_ruff_toml)
    # files that do not configure ruff change nothing for it
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n")
    (tmp_path / "README.md").write_text("hello\n")
    before = config_hash(Ruff(), tmp_path)
    assert before == config_hash(Ruff(), tmp_path)
    (tmp_path / "README.md").write_text("changed\n")
    assert config_hash(Ruff(), tmp_path) == before
    assert config_hash(Mypy(), tmp_path) != config_hash(Mypy(), tmp_path / "elsewhere")


def test_config_hash_tells_which_file_holds_the_content(tmp_path: Path) -> None:
    (tmp_path / "ruff.toml").write_text("x = 1\n")
    in_ruff_toml = config_hash(Ruff(), tmp_path)
    (tmp_path / "ruff.toml").unlink()
    (tmp_path / ".ruff.toml").write_text("x = 1\n")
    assert config_hash(Ruff(), tmp_path) != in_ruff_toml


def test_cache_key_changes_with_every_part() -> None:
    parts = ["content", "ruff", "0.17.6", "config", "0.1.0"]
    key = cache_key(*parts)
    assert key == cache_key(*parts)
    for index in range(len(parts)):
        changed = list(parts)
        changed[index] += "!"
        assert cache_key(*changed) != key
    # parts are delimited, not just concatenated
    assert cache_key("ab", "c", "v", "h", "p") != cache_key("a", "bc", "v", "h", "p")


IMPORTERS = {
    "pkg/util.py": ["pkg/core.py", "tests/test_core.py", "tests/unit/test_util.py"],
    "pkg/core.py": ["tests/test_core.py"],
    "pkg/fixtures.py": ["tests/conftest.py"],
}


def _dependents(paths: list[str]) -> Iterable[str]:
    return [importer for path in paths for importer in IMPORTERS.get(path, [])]


ALL_TESTS = ["tests/test_core.py", "tests/unit/test_util.py", "tests/unit/util_test.py"]


def test_a_changed_test_file_is_affected() -> None:
    assert affected_tests(["tests/unit/util_test.py"], _dependents) == {"tests/unit/util_test.py"}


def test_tests_importing_a_changed_module_are_affected() -> None:
    assert affected_tests(["pkg/util.py"], _dependents) == {
        "tests/test_core.py",
        "tests/unit/test_util.py",
    }
    assert affected_tests(["pkg/unrelated.py", "README.md"], _dependents) == set()


def test_a_conftest_change_affects_the_tests_below_it() -> None:
    assert affected_tests(["tests/unit/conftest.py"], _dependents, ALL_TESTS) == {
        "tests/unit/test_util.py",
        "tests/unit/util_test.py",
    }
    # a module a conftest imports reaches every test under that conftest
    assert affected_tests(["pkg/fixtures.py"], _dependents, ALL_TESTS) == set(ALL_TESTS)
    assert affected_tests(["conftest.py"], _dependents, ALL_TESTS) == set(ALL_TESTS)


def test_pytest_config_includes_conftest(tmp_path: Path) -> None:
    before = config_hash(Pytest(), tmp_path)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text("import pytest\n")
    assert config_hash(Pytest(), tmp_path) != before


def test_config_files_that_are_fifos_are_not_read(tmp_path: Path) -> None:
    """A workspace's config file is a workspace file: a FIFO there must not block the run."""
    os.mkfifo(tmp_path / "pyproject.toml")
    os.mkfifo(tmp_path / "setup.cfg")
    os.mkfifo(tmp_path / "a.py")
    fifos = [tmp_path / name for name in ("pyproject.toml", "setup.cfg", "a.py")]
    with released_if_blocked(*fifos) as blocked:
        assert config_hash(Ruff(), tmp_path) == config_hash(Ruff(), tmp_path / "missing")
        assert pyproject_table(tmp_path, "tool", "mypy") is None
        assert ini_section(tmp_path / "setup.cfg", "mypy") is None
        ctx = RunContext(tmp_path, ("a.py",), tmp_path, tmp_path, None, frozenset())
        assert Ruff().piped(ctx) is None
    assert not blocked()
