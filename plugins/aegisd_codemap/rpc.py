"""`index.*` methods: params, results and handlers side by side."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path
from typing import Any, Literal, NotRequired

from pydantic import Field, model_validator
from typing_extensions import TypedDict  # pydantic needs this one before 3.12

from aegisd.budget import BudgetedCache
from aegisd.cache import ANY_PATH
from aegisd.overlays import overlay_text
from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import NotFound, TooLarge, Unsupported
from aegisd.rpc.registry import FreshResult, PathText, Result, RpcMethod, WorkspaceParams
from aegisd.safeio import Skip, open_file
from aegisd.skipped import error_for, refuse_skipped
from aegisd.threads import interactive
from aegisd_codemap import navcount, service
from aegisd_codemap.dialect import is_header
from aegisd_codemap.extract import extract_file
from aegisd_codemap.model import FileExtract, Symbol
from aegisd_codemap.settings import CodemapSettings
from aegisd_codemap.tree import build_tree

KINDS = (
    "class, function, method (all languages); interface, enum, namespace, type (a TS type "
    "alias); constant, variable (JS/TS: a value outside functions built from code, "
    "const X = memo(() => ...), or an object with methods); struct, union, typedef (C/C++)"
)
#: hits whose references `with_references` counts
REFERENCE_COUNT_HITS = 20


class SearchParams(WorkspaceParams):
    query: str = Field(
        min_length=1,
        max_length=200,
        description="Name, prefix, initials, Class.meth or module-qualified (pkg.mod.Class.meth)",
    )
    kind: str | None = Field(None, description=f"Only symbols of this kind: {KINDS}")
    path_glob: str | None = Field(None, description="Only paths matching this glob (* crosses /)")
    limit: int = Field(50, ge=1, le=500)
    with_references: bool = Field(
        False,
        description=f"Count each hit's references (the first {REFERENCE_COUNT_HITS} hits in "
        "files whose names are bound: Python, JS/TS)",
    )


class SearchHit(Result):
    name: str
    qualname: str
    kind: str = Field(description=KINDS)
    path: str
    line: int
    end_line: int
    score: float
    match: str = Field(description="exact, prefix, word, substring or subsequence")
    signature: str | None = None
    references: int | None = Field(None, description="How many references (with_references)")


class SearchResult(FreshResult):
    hits: list[SearchHit]


async def search(params: SearchParams, ctx: RpcContext) -> SearchResult:
    ws = ctx.workspace
    index = await service.answerable(ctx.daemon, ws)
    # Keyed by the index version: it changes with every file applied or removed.
    key = ("search", index.version, params.query, params.kind, params.path_glob, params.limit)
    cached = ctx.daemon.cache.get(service.CACHE_NAMESPACE, ws.id, key)
    if cached is None:
        found = await interactive(
            index.search, params.query, params.kind, params.path_glob, params.limit
        )
        cached = [
            SearchHit(
                name=f.hit.name,
                qualname=f.hit.qualname,
                kind=f.hit.kind,
                path=f.hit.path,
                line=f.line,
                end_line=f.end_line,
                score=f.hit.score,
                match=f.hit.match,
                signature=f.signature,
            )
            for f in found
        ]
        ctx.daemon.cache.put(service.CACHE_NAMESPACE, ws.id, key, cached, paths=(ANY_PATH,))
        service.want_names(ctx.daemon, index)  # read again if evicted
    if params.with_references:
        counts = await interactive(navcount.reference_counts, index, cached[:REFERENCE_COUNT_HITS])
        cached = [
            h.model_copy(update={"references": n}) for h, n in zip(cached, counts, strict=False)
        ] + cached[len(counts) :]
    return SearchResult(hits=cached, pending=not service.is_ready(ctx.daemon, ws.id))


class SkippedFile(Result):
    path: str
    reason: str


class StatusResult(FreshResult):
    files: int
    symbols: int
    languages: dict[str, int]
    files_with_errors: int
    stale_files: int
    parsed: int = Field(description="Files parsed by this daemon instance for this workspace")
    loaded: int = Field(description="Files loaded from the store at start (not re-parsed)")
    last_full_scan: str | None
    ready: bool
    skipped_files: int = Field(
        description="Workspace files no plugin reads (special, too large, binary, unreadable)"
    )
    skipped_by_kind: dict[str, int] = Field(
        description="Skipped files per kind: fifo, socket, device, too_large, binary, "
        "encoding, unreadable, outside_root, ..."
    )
    skipped: list[SkippedFile] = Field(
        description="The first skipped files by path, each with why (at most 100)"
    )


async def index_status(params: WorkspaceParams, ctx: RpcContext) -> StatusResult:
    ws = ctx.workspace
    codemap = service.get(ctx.daemon)
    index = codemap.index(ws.id)
    event = codemap.ready.get(ws.id)
    summary = ws.live.skip_summary() if ws.live is not None else None
    return StatusResult(
        **index.status(),
        skipped_files=summary.total if summary else 0,
        skipped_by_kind=summary.by_kind if summary else {},
        skipped=[SkippedFile(path=p, reason=r) for p, r in summary.files] if summary else [],
        parsed=index.counters.parsed,
        loaded=index.counters.loaded,
        last_full_scan=index.counters.last_full_scan,
        ready=event is not None and event.is_set(),
        pending=not (event is not None and event.is_set()),
    )


class FileParams(WorkspaceParams):
    path: PathText = Field(description="File path, relative to the root or absolute")


class OutlineNode(Result):
    name: str
    qualname: str
    kind: str = Field(description=KINDS)
    line: int
    end_line: int
    column: int
    signature: str | None
    decorators: list[str]
    docstring: str | None
    is_async: bool
    exported: bool
    loc: int
    complexity: int
    children: list[OutlineNode] = Field(default_factory=list)


class FileError(Result):
    message: str
    line: int
    column: int


class FileMetrics(Result):
    symbols: int = Field(description="Definitions in the file (nested ones included)")
    max_complexity: int = Field(description="The highest McCabe complexity of its functions")
    imports: int


class FileResult(FreshResult):
    path: str
    language: str | None = Field(
        description="The language the file was parsed as (a C++ header named .h: cpp)"
    )
    dialect: Literal["c", "cpp"] | None = Field(
        None,
        description="For a header named .h: cpp when a C++ construct in its code (template, "
        "namespace, class, access label, using, ::) or a C++ file of the same name beside it "
        "(.cpp, .cc, .cxx, .hpp, ...) says so, else c; null for every other file",
    )
    lines: int
    loc: int
    stale: bool = Field(
        description="True when the file no longer parses and the outline is its last good one"
    )
    errors: list[FileError]
    outline: list[OutlineNode]
    metrics: FileMetrics
    overlay: bool = Field(
        False,
        description="Answered from this connection's unsaved buffer (`workspace.overlay`), "
        "not the file on disk",
    )


def _outline(symbols: list[Symbol]) -> list[OutlineNode]:
    nodes: dict[str, OutlineNode] = {}
    roots: list[OutlineNode] = []
    for s in symbols:
        node = OutlineNode(
            name=s.name, qualname=s.qualname, kind=s.kind, line=s.line, end_line=s.end_line,
            column=s.column, signature=s.signature, decorators=list(s.decorators),
            docstring=s.docstring, is_async=s.is_async, exported=s.exported, loc=s.loc,
            complexity=s.complexity,
        )  # fmt: skip
        nodes[s.qualname] = node
        parent = nodes.get(s.parent) if s.parent else None
        (parent.children if parent is not None else roots).append(node)
    return roots


def _dialect(path: str, language: str | None) -> Literal["c", "cpp"] | None:
    if not is_header(path):
        return None
    return "cpp" if language == "cpp" else "c" if language == "c" else None


async def _overlay_extract(ctx: RpcContext, rel: str, text: str) -> FileExtract:
    """The outline of an unsaved buffer, parsed off the loop; kept by content in a budgeted
    cache (an editor asks again for the same text: symbols, then hover)."""
    ws = ctx.workspace
    data = text.encode("utf-8", "surrogateescape")
    docs = ws.settings.include_docstrings
    key = (ws.id, rel, docs, hashlib.blake2b(data, digest_size=16).digest())
    cache: BudgetedCache[Any, FileExtract] = ctx.daemon.memory.cache("codemap.overlays", "codemap")
    found = cache.get(key)
    if found is None:
        found = await interactive(extract_file, rel, data, docs, str(ws.root))
        cache.put(key, found)
    return found


async def index_file(params: FileParams, ctx: RpcContext) -> FileResult:
    ws = ctx.workspace
    rel = ws.relative(params.path)
    text = overlay_text(ctx, rel)
    if text is not None:
        return _file_result(ctx, rel, await _overlay_extract(ctx, rel, text), False, True)
    index = service.get(ctx.daemon).index(ws.id)
    extract = index.peek(rel)
    if extract is None and rel in index.facts:
        extract = await interactive(index.read, rel)
    if extract is None:
        refuse_skipped(ws, rel)  # a file no plugin reads says why
        if not service.is_ready(ctx.daemon, ws.id):
            extract = await service.parse_now(ctx.daemon, ws, rel)  # the first index runs
    if extract is None:
        raise service.settled_absence(ctx.daemon, ws, rel, "not an indexed file")
    return _file_result(ctx, rel, extract, index.is_stale(rel), False)


def _file_result(
    ctx: RpcContext, rel: str, extract: FileExtract, stale: bool, overlay: bool
) -> FileResult:
    complexities = [s.complexity for s in extract.symbols]
    return FileResult(
        pending=not service.is_ready(ctx.daemon, ctx.workspace.id),
        path=rel,
        language=extract.language,
        dialect=_dialect(rel, extract.language),
        lines=extract.lines,
        loc=extract.loc,
        stale=stale,
        overlay=overlay,
        errors=[FileError(message=e.message, line=e.line, column=e.column) for e in extract.errors],
        outline=_outline(extract.symbols),
        metrics=FileMetrics(
            symbols=len(extract.symbols),
            max_complexity=max(complexities, default=0),
            imports=len(extract.imports),
        ),
    )


class PreviewParams(WorkspaceParams):
    path: PathText
    start_line: int | None = Field(None, ge=1)
    end_line: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> PreviewParams:
        if (
            self.start_line is not None
            and self.end_line is not None
            and self.start_line > self.end_line
        ):
            raise ValueError(f"start_line {self.start_line} is after end_line {self.end_line}")
        return self


class PreviewResult(FreshResult):
    path: str
    media_type: str
    start_line: int
    end_line: int
    total_lines: int
    text: str


def _read_preview(root: Path, rel: str, limit: int) -> bytes:
    """The file opened beneath the root (a symlink swapped in cannot lead out of it) and read
    from that descriptor."""
    try:
        with open_file(root, rel, limit) as fh:
            return fh.read()
    except FileNotFoundError:
        raise NotFound(f"no such file: {rel}", path=rel) from None
    except Skip as skip:
        if skip.kind == "too_large":
            raise TooLarge(f"{rel} is over the {limit}-byte preview limit", limit=limit) from None
        raise error_for(rel, skip.kind, skip.reason, skipped=False) from None


async def preview(params: PreviewParams, ctx: RpcContext) -> PreviewResult:
    ws = ctx.workspace
    rel = ws.relative(params.path)
    settings = getattr(ws.settings, "codemap", CodemapSettings())
    data = await interactive(_read_preview, ws.root, rel, settings.max_preview_bytes)
    if b"\0" in data[:8192]:
        raise Unsupported(f"binary file: {params.path}", path=rel)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unsupported(f"not UTF-8 text: {params.path}", path=rel) from None
    lines = text.splitlines(keepends=True)
    start = params.start_line or 1
    end = min(params.end_line or len(lines), len(lines))
    media = mimetypes.guess_type(rel)[0] or "text/plain"
    return PreviewResult(
        path=rel,
        media_type=media,
        start_line=start,
        end_line=max(end, start - 1),
        total_lines=len(lines),
        text="".join(lines[start - 1 : end]),
    )


class TreeParams(WorkspaceParams):
    path: PathText | None = Field(None, description="Subdirectory to list (default: the root)")
    depth: int | None = Field(
        None, ge=1, le=64, description="Levels listed: 1 is the directory's own files and dirs"
    )


class TreeNode(TypedDict):
    """A directory (with `files` and `children`) or a file (with what the index knows)."""

    name: str
    path: str
    type: Literal["dir", "file"]
    symbols: int
    files: NotRequired[int]
    children: NotRequired[list[TreeNode]]
    language: NotRequired[str | None]
    errors: NotRequired[int]
    git: NotRequired[str | None]


class TreeResult(FreshResult):
    root: TreeNode
    git: bool = Field(description="True in a git repository: file nodes then carry `git`")


async def tree(params: TreeParams, ctx: RpcContext) -> TreeResult:
    ws = ctx.workspace
    base = ws.relative(params.path) if params.path else ""
    index = await service.answerable(ctx.daemon, ws)  # symbol counts come from the index
    known = ws.live.known if ws.live is not None else {}
    node, git = await build_tree(ws.root, known, index, base, params.depth, ws.trusted)
    return TreeResult(root=node, git=git, pending=not service.is_ready(ctx.daemon, ws.id))


async def rebuild(params: WorkspaceParams, ctx: RpcContext) -> StatusResult:
    ws = ctx.workspace
    await service.rebuild(ctx.daemon, ws)
    return await index_status(params, ctx)


def methods() -> list[RpcMethod]:
    found = ("NOT_FOUND", "INVALID_PATH")
    return [
        # Not `instant`: while a first index runs, they wait for it (a stall of the connection)
        RpcMethod("index.search", SearchParams, search, summary="Ranked symbol search"),
        RpcMethod("index.status", WorkspaceParams, index_status, summary="Files, symbols, languages, errors", instant=True, probe=True),
        RpcMethod("index.file", FileParams, index_file, summary="Outline, errors and metrics of one file",
                  errors=(*found, "TOO_LARGE", "UNSUPPORTED", "UNAVAILABLE")),
        RpcMethod("index.preview", PreviewParams, preview, summary="Text of a file or a line range (root-confined)",
                  errors=(*found, "TOO_LARGE", "UNSUPPORTED")),
        RpcMethod("index.tree", TreeParams, tree, summary="Directories and files with symbol counts and git status",
                  errors=found),
        RpcMethod("index.rebuild", WorkspaceParams, rebuild, summary="Drop and rebuild the index", cost="heavy"),
    ]  # fmt: skip
