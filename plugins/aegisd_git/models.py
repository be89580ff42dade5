"""Result models of the `git.*` methods (the params sit beside their handlers in `rpc`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aegisd.rpc.registry import FreshResult, Result

FileStatus = Literal["A", "M", "D", "R", "C", "T", "U", "X"]


class Person(Result):
    name: str
    email: str
    time: str = Field(description="ISO 8601 with the person's own UTC offset")


class CommitFile(Result):
    path: str
    old_path: str | None = Field(None, description="Where a renamed or copied file came from")
    status: FileStatus = Field(description="A added, M modified, D deleted, R renamed, C copied, "
                               "T type changed, U unmerged")  # fmt: skip
    added: int | None = Field(None, description="Lines added; null for a binary file")
    removed: int | None = Field(None, description="Lines removed; null for a binary file")
    binary: bool = False


class Commit(Result):
    hash: str
    short: str
    parents: list[str]
    author: Person
    committer: Person
    subject: str
    body: str
    files: list[CommitFile] = Field(
        default_factory=list,
        description="Against the first parent (a merge shows what it brought in)",
    )


class StatusEntry(Result):
    path: str
    old_path: str | None = None
    index: str = Field(description="Staged state: . unchanged, M, A, D, R, C, T, U, ? or !")
    worktree: str = Field(description="Work-tree state, same letters")
    conflicted: bool = False


class StatusResult(FreshResult):
    kind: Literal["repository", "worktree", "submodule", "bare"]
    head: str | None = Field(description="HEAD's commit id; null before the first commit")
    branch: str | None = Field(description="The checked-out branch; null when detached")
    upstream: str | None = None
    ahead: int | None = None
    behind: int | None = None
    shallow: bool
    operation: str | None = Field(
        None, description="A rebase, merge, cherry-pick, revert or bisect in progress"
    )
    files: list[StatusEntry] = Field(description="Changed, untracked and conflicted files")


class LogResult(FreshResult):
    commits: list[Commit]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class ShowResult(FreshResult):
    commit: Commit


class Hunk(Result):
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    header: str = Field(description="The text after @@ (often the enclosing function)")
    lines: list[str] = Field(description="Each line with its prefix: ' ', '+', '-' or '\\'")


class DiffFile(CommitFile):
    hunks: list[Hunk]


class DiffResult(FreshResult):
    base: str | None = Field(description="The commit compared from (null: the empty tree)")
    rev: str | None = Field(description="The commit compared to; null: the working tree")
    files: list[DiffFile]


class BlameLineRef(Result):
    """A line of a compact blame: its commit's details are in `commits`."""

    line: int
    commit: str = Field(description="The commit that last changed the line (a key of `commits`)")
    original_line: int = Field(description="The line's number in that commit")
    path: str = Field(description="The file's path in that commit (renames followed)")
    text: str


class BlameCommit(Result):
    author: str
    author_email: str
    time: str
    summary: str
    boundary: bool = Field(description="The commit is a boundary (a shallow clone's graft)")


class BlameLine(BlameLineRef):
    """A line with its commit's details repeated on it."""

    author: str
    author_email: str
    time: str
    summary: str
    boundary: bool = Field(description="The commit is a boundary (a shallow clone's graft)")


class BlameResult(FreshResult):
    path: str
    rev: str | None = Field(description="The commit blamed; null: the working-tree file")
    lines: list[BlameLine] | list[BlameLineRef] = Field(
        description="Each line with its commit's author, time and summary; with `compact`, "
        "only the commit's id"
    )
    commits: dict[str, BlameCommit] = Field(
        description="Each commit of `lines` once, by id: who, when and why"
    )


class FileHistoryResult(FreshResult):
    path: str
    commits: list[Commit] = Field(description="Newest first; each lists the file's own change")


class MatrixCell(Result):
    commit: int = Field(description="Index into `commits`")
    status: FileStatus
    added: int | None
    removed: int | None


class MatrixRow(Result):
    path: str
    cells: list[MatrixCell]


class MatrixResult(FreshResult):
    commits: list[Commit] = Field(description="The latest commits, newest first (no files)")
    files: list[MatrixRow] = Field(description="Files they touched, most often touched first")
