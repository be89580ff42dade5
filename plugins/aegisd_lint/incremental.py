"""Helpers for incremental linting: what a cached result depends on, and which tests to re-run."""

import hashlib
from collections.abc import Callable, Iterable
from itertools import chain
from pathlib import Path, PurePosixPath

from aegisd_lint.configfiles import read_config
from aegisd_lint.paths import is_conftest, is_test_file
from aegisd_lint.tool import LintTool


def config_hash(tool: LintTool, root: Path) -> str:
    """A hash of the names and contents of the tool's config files that exist in `root`.

    It reads files: call it off the event loop.
    """
    digest = hashlib.sha256()
    for name in sorted(tool.config_files):
        content = read_config(root, name)
        if content is None:
            continue  # absent (or unreadable, which the tool will see the same way)
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def cache_key(
    content_hash: str, tool_name: str, version: str, config_hash: str, plugin_version: str
) -> str:
    """The key of one tool's result for one file content under one config and tool version."""
    parts = (content_hash, tool_name, version, config_hash, plugin_version)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def affected_tests(
    changed_paths: Iterable[str],
    dependents_fn: Callable[[list[str]], Iterable[str]],
    all_test_files: Iterable[str] = (),
) -> set[str]:
    """Test files to re-run after `changed_paths` changed ("/" paths relative to the root).

    A changed test file, every test file that imports a changed module directly or through
    others (`dependents_fn(paths)` returns their transitive importers), and every test in
    `all_test_files` under a conftest.py that changed or imports a changed module. Callers drop
    paths that no longer exist.
    """
    tests: set[str] = set()
    conftests: set[str] = set()
    changed = list(changed_paths)
    for candidate in chain(changed, dependents_fn(changed)):
        if is_test_file(candidate):
            tests.add(candidate)
        elif is_conftest(candidate):
            conftests.add(candidate)
    if conftests:
        dirs = [PurePosixPath(conftest).parent for conftest in conftests]
        for test in all_test_files:
            if is_test_file(test) and any(_under(test, folder) for folder in dirs):
                tests.add(test)
    return tests


def _under(path: str, folder: PurePosixPath) -> bool:
    return folder == PurePosixPath(".") or folder in PurePosixPath(path).parents
