"""Planning a tool's pass: which files it considers, the cache key of each, which to run.

A run is asked for by a `RunRequest`. Each tool's pass has a *scope* (the files it is about)
and runs the tool on the files of the scope whose key differs from the stored result's, and on
those the tool left unchecked. Keys follow `incremental.cache_key`: a per-file tool's
input is the file's content hash, a whole-program tool's the file's closure hash (see `deps`)
plus those of its ancestor files (pytest's conftest.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aegisd_lint import __version__ as PLUGIN_VERSION
from aegisd_lint.deps import Dependencies
from aegisd_lint.incremental import affected_tests, cache_key, config_hash
from aegisd_lint.tool import LintTool

#: beyond this many changed paths, dependents are not traced one by one: the keys of the whole
#: default scope are compared instead (same outcome, one linear pass)
MAX_TRACED = 32


def config_digest(
    tool: LintTool, root: Path, args: Sequence[str], python: Path | None = None
) -> str:
    """The tool's config files, extra arguments and the interpreter it uses (whose installed
    packages its results depend on), hashed (reads files: off the loop)."""
    digest = hashlib.sha256(config_hash(tool, root).encode())
    digest.update(json.dumps(list(args)).encode())
    if python is not None:
        digest.update(b"\0" + os.fsencode(python))
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
        affected = affected_tests(changes, deps.dependents, defaults)
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
        named |= affected_tests(selected, deps.dependents, defaults) & set(defaults)
    return sorted(named)


@dataclass(frozen=True)
class RunRequest:
    """`trigger` is "run", "change", "open" (a chunk of the first whole-workspace pass) or
    "backlog" (a chunk of what the background lane owes: unchecked files, results a config
    change or a large batch left stale); `tools` None means every enabled tool, `paths` None
    the whole workspace; `changes` (path -> kind) makes it incremental.

    `unlinted`: whether files with no result yet are run (else only the changed and `owed`
    ones: the rest are the first pass's). `limit`: at most this many files per tool, the
    changed ones first; the rest is the pass's `deferred`."""

    trigger: str
    tools: tuple[str, ...] | None = None
    paths: tuple[str, ...] | None = None
    changes: Mapping[str, str] | None = None
    force: bool = False
    unlinted: bool = True
    owed: frozenset[str] = frozenset()
    limit: int | None = None


@dataclass(frozen=True)
class ToolInputs:
    """What one tool's pass is planned from: the workspace root, the tool's version, extra
    arguments and interpreter (None when its results do not depend on one), its stored
    results and the files it left unchecked."""

    root: Path
    version: str
    args: tuple[str, ...]
    python: Path | None
    stored: Mapping[str, str]  # path -> the stored result's key
    unverified: frozenset[str]


@dataclass(frozen=True)
class Pass:
    """What one tool's pass is about: its scope, their keys, which to run and to remove;
    `deferred`: files of the scope that need a run but were left to a later one (the
    request's `limit`); `cached`: files of the scope whose stored result is still valid."""

    scope: list[str]
    keys: dict[str, str]
    run: list[str]
    removed: list[str]
    deferred: list[str] = field(default_factory=list)
    cached: int = 0


def plan_pass(
    tool: LintTool,
    request: RunRequest,
    paths: Sequence[str],
    deps: Dependencies,
    inputs: ToolInputs,
    edited: list[str] | None = None,
) -> Pass:
    """Scope, keys, what to run and what to remove for `tool` (`paths`: every known file),
    in a thread unless `edited` holds the few changed files the scope is within.

    Any run checks the files of its scope the tool left unchecked: they have no verdict to
    keep. A change run does not take in the others (the background lane retries them), nor
    files that never had a result and did not change."""
    root, unverified = inputs.root, inputs.unverified
    config = config_digest(tool, root, inputs.args, inputs.python)
    defaults: list[str] = []
    whole = False
    if edited is not None:
        # default_files judges each path on its own: only these need judging
        scope = tool.default_files(edited, root)
    else:
        defaults = tool.default_files(list(paths), root)
        if request.paths is not None:
            scope = selected_scope(tool, request.paths, defaults, deps)
        elif request.changes is not None:
            scope = changed_scope(tool, request.changes, defaults, deps)
            whole = len(scope) == len(defaults)
        else:
            scope, whole = list(defaults), True
    found = keys(tool, scope, deps, inputs.version, config)
    stored = inputs.stored
    due = [
        path
        for path in scope
        if request.force or path in unverified or stored.get(path) != found[path]
    ]
    changed = request.changes or {}
    run = due
    if not request.unlinted:
        owed = request.owed
        run = [
            path
            for path in due
            if path in stored or path in unverified or path in changed or path in owed
        ]
    deferred: list[str] = []
    if request.limit is not None and len(run) > request.limit:
        # the changed files first, then files never tried, then those a tool left unchecked
        # (a file that fails every time does not hold the others back)
        run.sort(key=lambda path: (path not in changed, path in unverified, path))
        run, deferred = sorted(run[: request.limit]), run[request.limit :]
    # a whole-workspace pass also forgets files the tool no longer covers (config changes)
    covered = set(defaults)
    removed = [path for path in stored if path not in covered] if whole else []
    return Pass(scope, found, run, removed, deferred, len(scope) - len(due))
