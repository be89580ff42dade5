"""Running a tool over many files in batches, and joining the batches' results into one.

A batch is as many files as fit `ARG_BYTES` of command line (53,640 paths in one argv failed
with "Argument list too long") and the tool's `batch_files`. Each batch runs with the tool's
whole timeout and memory limit, so a batch that times out or runs out of memory costs only its
own files' results: they stay unchecked, the other batches' files get their verdicts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from aegisd_lint.issues import Status, ToolResult, Totals, status_for

#: command-line bytes of file names per batch: well under Linux's ARG_MAX (2 MiB, shared
#: with the environment and the tool's own options)
ARG_BYTES = 256 * 1024


def split(
    files: Sequence[str], batch_files: int | None, arg_bytes: int = ARG_BYTES
) -> list[tuple[str, ...]]:
    """`files` in order, cut into batches of at most `batch_files` files and `arg_bytes`
    bytes of arguments (a name longer than that alone is a batch of its own)."""
    batches: list[tuple[str, ...]] = []
    current: list[str] = []
    size = 0
    for name in files:
        cost = len(os.fsencode(name)) + 3  # its NUL, and a "./" a leading "-" gets
        full = batch_files is not None and len(current) >= batch_files
        if current and (full or size + cost > arg_bytes):
            batches.append(tuple(current))
            current, size = [], 0
        current.append(name)
        size += cost
    if current:
        batches.append(tuple(current))
    return batches


def merge(tool: str, results: Sequence[ToolResult], duration_ms: int) -> ToolResult:
    """One result for a run made of `results` (one per batch, each with its `files`).

    A whole-program tool reports findings on files it followed, which may be another
    batch's: each batch keeps only its own files' issues, so none is counted twice."""
    issues = []
    for result in results:
        mine = set(result.files or ())
        issues += [issue for issue in result.issues if issue.path in mine]
    failed = [result for result in results if result.status is Status.ERROR]
    unchecked = sorted(
        path for result in failed for path in (result.unchecked or result.files or ())
    )
    message = None
    if failed:
        first = failed[0]
        message = f"{first.message} ({len(failed)} of {len(results)} batches; "
        message += f"{len(unchecked)} files unchecked)"
    return ToolResult(
        tool=tool,
        version=next((r.version for r in results if r.version is not None), None),
        status=Status.ERROR if failed else status_for(issues),
        issues=issues,
        duration_ms=duration_ms,
        files=[path for result in results for path in result.files or ()],
        argv=results[0].argv,
        returncode=(failed[0] if failed else results[-1]).returncode,
        error_code=failed[0].error_code if failed else None,
        message=message,
        totals=Totals.sum(r.totals for r in results),
        file_totals=_join_file_totals(results),
        unchecked=unchecked if failed else None,
    )


def _join_file_totals(results: Sequence[ToolResult]) -> dict[str, Totals] | None:
    joined: dict[str, Totals] = {}
    for result in results:
        joined.update(result.file_totals or {})
    return joined if any(r.file_totals is not None for r in results) else None
