"""Which files a tool pass considers, and the cache key of each: pure functions.

A pass has a *scope* (the files it is about) and runs the tool on the files of the scope whose
key differs from the stored result's. Keys follow `incremental.cache_key`: a per-file tool's
input is the file's content hash, a whole-program tool's the file's closure hash (see `deps`)
plus those of its ancestor files (pytest's conftest.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from aegisd_lint import __version__ as PLUGIN_VERSION
from aegisd_lint.deps import Dependencies
from aegisd_lint.incremental import affected_tests, cache_key, config_hash
from aegisd_lint.tool import LintTool

#: beyond this many changed paths, dependents are not traced one by one: the keys of the whole
#: default scope are compared instead (same outcome, one linear pass)
MAX_TRACED = 32


def config_digest(tool: LintTool, root: Path, args: Sequence[str]) -> str:
    """The tool's config files and extra arguments, hashed (reads files: off the loop)."""
    digest = hashlib.sha256(config_hash(tool, root).encode())
    digest.update(json.dumps(list(args)).encode())
    return digest.hexdigest()


def keys(
    tool: LintTool, paths: Sequence[str], deps: Dependencies, version: str, config: str
) -> dict[str, str]:
    """The cache key of each of `paths` for `tool` at `version` under `config`."""
    found = {}
    for path in paths:
        if tool.per_file:
            content = deps.hashes.get(path, "")
        else:
            inputs = [path, *deps.ancestors(path, tool.ancestor_files)]
            content = "\0".join(deps.closure_hash(name) for name in inputs)
        found[path] = cache_key(content, tool.name, version, config, PLUGIN_VERSION)
    return found


def changed_scope(
    tool: LintTool, changes: Mapping[str, str], defaults: Sequence[str], deps: Dependencies
) -> list[str]:
    """The files of `defaults` (the tool's whole-workspace files) a batch of changes affects.

    A changed config file of the tool affects all of them; a per-file tool's changed files
    only themselves; otherwise the changed files, the files importing them (transitively), and
    for a test runner the tests under a changed conftest.py.
    """
    if widened(tool, changes):
        return list(defaults)
    pool = set(defaults)
    present = [path for path, kind in changes.items() if kind != "deleted"]
    if tool.per_file:
        return sorted(path for path in present if path in pool)
    if tool.ancestor_files:
        affected = affected_tests(changes, lambda path: deps.dependents([path]), defaults)
    else:
        affected = set(present) | deps.dependents(changes)
    return sorted(affected & pool)


def widened(tool: LintTool, changes: Mapping[str, str]) -> bool:
    """Whether `changed_scope` is all of the tool's files: a config file of the tool changed,
    or too many files to trace one by one."""
    return len(changes) > MAX_TRACED or any(name in changes for name in tool.config_files)


def selected_scope(
    tool: LintTool, selected: Sequence[str], defaults: Sequence[str], deps: Dependencies
) -> list[str]:
    """The files a run on `selected` paths covers: those the tool applies to, and for a test
    runner also the tests of `defaults` that import them."""
    named = {path for path in selected if tool.applies_to(path)}
    if tool.ancestor_files:
        named |= affected_tests(selected, lambda path: deps.dependents([path]), defaults) & set(
            defaults
        )
    return sorted(named)
