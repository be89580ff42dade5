"""The MCP tools: which JSON-RPC method each one calls, its description for agents, how it runs.

A tool lights up only when its method is in the daemon's registry (`rpc.discover`); its input
schema is that method's params schema (see `mcp_schema`), so it never drifts from the daemon.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aegisd import mcp_render as render
from aegisd.mcp_link import local_failure
from aegisd.mcp_schema import input_schema

WORKSPACE_HELP = "Workspace root path or id (default: the project this server runs in)"


class ToolContext(Protocol):
    """What a tool's runner may use: the daemon (workspace filled in) and the audit run."""

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]: ...

    def params_of(self, method: str) -> frozenset[str] | None: ...

    @property
    def session_id(self) -> str: ...

    @property
    def audit_run(self) -> int | None: ...

    def remember_run(self, result: Mapping[str, Any]) -> None: ...

    def forget_run(self, run: Any) -> None: ...


Runner = Callable[[ToolContext, "ToolSpec", dict[str, Any]], Awaitable[dict[str, Any]]]


async def _call_method(ctx: ToolContext, spec: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
    return await ctx.call(spec.method, args)


@dataclass(frozen=True)
class Hints:
    """What an agent's client may assume about a tool (MCP tool annotations). Every tool
    works on the local daemon only, so none reaches an open world."""

    read_only: bool = True  # changes nothing anywhere
    destructive: bool = False  # (when not read-only) may delete or overwrite something
    idempotent: bool = True  # a repeated call with the same arguments adds no effect


READ = Hints()
#: the lint tool with run=true runs the linters, and in a trusted workspace its tests
RUNS_TOOLS = Hints(read_only=False)
RECORDS = Hints(read_only=False)  # adds to the audit trail, deletes nothing
APPENDS = Hints(read_only=False, idempotent=False)  # each call adds an event


@dataclass(frozen=True)
class ToolSpec:
    name: str
    method: str
    title: str
    description: str
    render: render.Renderer = render.generic
    run: Runner = _call_method
    fields: tuple[str, ...] | None = None  # params exposed (None: all)
    optional: tuple[str, ...] = ()  # required params the runner fills in
    descriptions: Mapping[str, str] = field(default_factory=dict)
    # Properties of the tool's own, each shown only when the method named with it exists.
    extra: Mapping[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    audited: bool = True  # False for the audit tools: they are the trail itself
    hints: Hints = READ


async def _cycles(ctx: ToolContext, spec: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
    result = await ctx.call(spec.method, args)
    kept = ("cycles", "cycle_paths", "clock", "pending")
    return {key: result[key] for key in kept if key in result}


async def _search(ctx: ToolContext, spec: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
    if "with_references" in (ctx.params_of(spec.method) or ()):
        args["with_references"] = True
    return await ctx.call(spec.method, args)


async def _lint(ctx: ToolContext, spec: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
    if args.pop("run", False):
        scope: dict[str, Any] = {"workspace": args.get("workspace")}
        if args.get("path"):
            scope["paths"] = [args["path"]]
        if args.get("tool"):
            scope["tools"] = [args["tool"]]
        await ctx.call("lint.run", scope)
    return await ctx.call(spec.method, args)


async def _audit_start(ctx: ToolContext, spec: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
    # start_run ensures the run of an external id: calling audit_start again resumes it.
    if "external_id" in (ctx.params_of(spec.method) or ()) and not args.get("external_id"):
        args["external_id"] = ctx.session_id
    result = await ctx.call(spec.method, args)
    ctx.remember_run(result)
    return result


async def _audit_in_run(ctx: ToolContext, spec: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("run") is None:
        if ctx.audit_run is None:
            raise local_failure("NOT_FOUND", "no audit run: call audit_start first, or pass run")
        args["run"] = ctx.audit_run
    result = await ctx.call(spec.method, args)
    if spec.method == "audit.end_run":
        ctx.forget_run(args["run"])
    return result


_BLAME_FIELDS = ("workspace", "path", "rev", "start_line", "end_line")
_LOG_FILTERS = ("rev", "since", "until", "author", "grep", "cursor")


async def _git_history(ctx: ToolContext, spec: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
    """Blame of a range when lines are given, a file's history across renames when only a
    path is, else the log with its filters."""
    if args.get("start_line") is not None or args.get("end_line") is not None:
        if not args.get("path"):
            raise local_failure("INVALID_PARAMS", "start_line/end_line blame a file: give path")
        blame = {k: args[k] for k in _BLAME_FIELDS if k in args}
        return await ctx.call("git.blame", {**blame, "compact": True})  # each commit once
    args.pop("start_line", None)
    args.pop("end_line", None)
    follow = args.pop("follow", None)
    if args.get("path") and not any(args.get(k) for k in _LOG_FILTERS):
        params: dict[str, Any] = {k: args[k] for k in ("workspace", "path", "limit") if k in args}
        if follow is not None:
            params["follow"] = follow
        return await ctx.call("git.file_history", params)
    return await ctx.call(spec.method, args)


_LINE = {"type": "integer", "minimum": 1}
_RUN_HELP = {"run": "Run id (default: the run audit_start returned in this session)"}

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "search_symbols",
        "index.search",
        "Search symbols",
        "Find functions, classes and methods by name in the workspace's live index: exact name, "
        "prefix, initials ('gfs' finds get_file_summary), 'Class.method' or a module path and "
        "name ('pkg.mod.func'). Returns ranked hits, definitions in tests after the rest, "
        "with path, line range, kind and signature. Use before grepping; then read_file the "
        "hit's lines. Names only, not text inside bodies. Python, JS/TS hits count their references.",
        render.search,
        run=_search,
        fields=("workspace", "query", "kind", "path_glob", "limit"),
    ),
    ToolSpec(
        "file_outline",
        "index.file",
        "Outline a file",
        "Outline of one source file: classes, functions and methods as a tree with line ranges, "
        "signatures, docstrings and complexity, plus parse errors. Much cheaper than reading the "
        "file: use it to decide which lines to read. Indexed languages only (Python, JS/TS, C/C++).",
        render.outline,
    ),
    ToolSpec(
        "read_file",
        "index.preview",
        "Read a file",
        "Read a text file in the workspace, or lines start_line..end_line (1-based, inclusive). "
        "Paths are relative to the root; anything resolving outside it is refused, as are binary "
        "and over-size files (TOO_LARGE).",
        render.preview,
    ),
    ToolSpec(
        "file_dependents",
        "graph.dependents",
        "Files that import a file",
        "Files that import the given file (transitive=true: also through other files); with "
        "symbol, only the files referencing that definition. Use before changing a module's "
        "names or behaviour, to know what may break and which tests to run.",
        render.dependents,
    ),
    ToolSpec(
        "find_references",
        "index.references",
        "Find references",
        "Where a symbol is used (calls, reads, imports, bases, annotations), resolved, not "
        "by text; by name ('Class.meth', 'pkg.mod.func') or path, line, column. Python, JS/TS.",
        render.references,
        fields=("workspace", "name", "path", "line", "column", "limit"),
    ),
    ToolSpec(
        "call_graph",
        "graph.calls",
        "Call graph",
        "What a function calls (callees) or what calls it (callers) across files, to a depth: "
        "call-site lines, cycles, unresolved calls. By name, or path and a line in it. Python, JS/TS.",
        render.calls,
    ),
    ToolSpec(
        "import_cycles",
        "graph.imports",
        "Import cycles",
        "Import cycles between workspace files (imports that run as a module loads), each the "
        "files that import each other and a path of real imports through them with the line of "
        "each; with path, only the cycles through that file. Use when an import fails or to "
        "review module structure.",
        render.cycles,
        run=_cycles,
        fields=("workspace", "path"),
    ),
    ToolSpec(
        "lint",
        "lint.report",
        "Lint issues (optionally run the linters)",
        "Current lint issues (ruff, mypy, bandit, pytest, file length) kept up to date as files "
        "change: per file, with rule, message, severity, line and summary counts. Filter by path, "
        "tool or severity. run=true runs the linters on that path first (slow: seconds to minutes).",
        render.lint,
        run=_lint,
        extra={"run": ("lint.run", {"type": "boolean", "description": "Run the linters first"})},
        hints=RUNS_TOOLS,
    ),
    ToolSpec(
        "find_duplicates",
        "similarity.check",
        "Find duplicated code",
        "Code in the workspace that duplicates a snippet (code) or a file (path): clones of type "
        "1 (exact), 2 (renamed) or 3 (with gaps), with similarity and both locations. Call it "
        "before writing a new helper, to reuse what exists.",
    ),
    ToolSpec(
        "changes_since",
        "workspace.changes",
        "Files changed since",
        "Files created, modified or deleted since a clock or cursor from an earlier answer (each "
        "answer carries its clock), whoever changed them. Use to refresh what you know instead of "
        "re-reading everything. Returns the next cursor.",
        render.changes,
    ),
    ToolSpec(
        "insights",
        "insights.list",
        "Code insights",
        "Code insights computed from the index, lint and clone data: complexity hotspots, "
        "oversized files, import cycles, lint hotspots, duplication, untested modules, each with "
        "severity, paths and the numbers behind it. Use to choose what to refactor or review.",
    ),
    ToolSpec(
        "git_history",
        "git.log",
        "Git history, file history, blame",
        "Who changed what, when and why, from the repository: with path only, that file's "
        "commits across renames; with path and start_line/end_line, the commit, author and "
        "date of each line (blame); otherwise the log, filtered by path, rev (or A..B), "
        "since/until, author, grep (message). Each commit has its files and line counts.",
        render.git_history,
        run=_git_history,
        extra={
            "follow": ("git.file_history", {"type": "boolean", "description": "Follow renames"}),
            "start_line": ("git.blame", {**_LINE, "description": "Blame from this line"}),
            "end_line": ("git.blame", {**_LINE, "description": "Blame to this line"}),
        },
    ),
    ToolSpec(
        "audit_start",
        "audit.start_run",
        "Start (or resume) the audit run",
        "Start an audit run for this agent session (name, notes). Your later calls of these tools "
        "and the events you log are recorded in it. Returns the run.",
        render.audit_run,
        run=_audit_start,
        optional=("external_id",),
        audited=False,
        hints=RECORDS,  # called again, it resumes the same run
    ),
    ToolSpec(
        "audit_log",
        "audit.log_event",
        "Log a step in the audit run",
        "Record a step of your work in the audit run: type (thought, command, note, phase, error), "
        "title (at most 200 characters), detail, phase, status. Secrets are redacted.",
        render.audit_event,
        run=_audit_in_run,
        optional=("run",),
        descriptions=_RUN_HELP,
        audited=False,
        hints=APPENDS,
    ),
    ToolSpec(
        "audit_end",
        "audit.end_run",
        "Close the audit run",
        "Close the audit run when your task is done.",
        render.audit_run,
        run=_audit_in_run,
        optional=("run",),
        descriptions=_RUN_HELP,
        audited=False,
        hints=RECORDS,  # a closed run stays closed
    ),
)


@dataclass(frozen=True)
class BoundTool:
    """A tool whose method the daemon has, with its generated input schema."""

    spec: ToolSpec
    schema: dict[str, Any]

    @property
    def name(self) -> str:
        return self.spec.name


def available_tools(discover: Mapping[str, Any]) -> list[BoundTool]:
    """The tools whose methods are in the OpenRPC document `discover`, in table order."""
    methods = {m["name"]: m for m in discover.get("methods", [])}
    components = discover.get("components", {}).get("schemas", {})
    tools = []
    for spec in TOOLS:
        method = methods.get(spec.method)
        if method is None:
            continue
        extra = {name: prop for name, (needs, prop) in spec.extra.items() if needs in methods}
        schema = input_schema(
            method,
            components,
            fields=spec.fields,
            optional=spec.optional,
            descriptions={"workspace": WORKSPACE_HELP, **spec.descriptions},
            extra=extra,
        )
        tools.append(BoundTool(spec, schema))
    return tools
