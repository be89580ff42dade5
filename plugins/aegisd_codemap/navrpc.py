"""Navigation methods: `index.symbol_at`, `index.definition`, `index.references`.

Python (`pybind`), JS/TS (`jsbind`) and C/C++ (`cbind`) files are bound; a language not
bound yet would answer `symbol_at` from its outline and refuse the rest as UNSUPPORTED.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import InvalidParams, NotFound, Unsupported
from aegisd.rpc.registry import FreshResult, PathText, Result, RpcMethod, WorkspaceParams
from aegisd.safeio import read_bytes
from aegisd.skipped import refuse_skipped
from aegisd.threads import interactive
from aegisd_codemap import service
from aegisd_codemap.cinclude import is_c
from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.jsfamily import override_family
from aegisd_codemap.jsmeaning import asked, declared_as, keeps, meaning_of, merged
from aegisd_codemap.languages import BOUND
from aegisd_codemap.model import FileExtract, Symbol
from aegisd_codemap.navigate import (
    Navigator,
    definition_named_at,
    definitions_named,
    innermost,
    site_at,
)
from aegisd_codemap.navresolve import MOD, RESOLVED, SYM, Resolution, Value
from aegisd_codemap.rpc import OutlineNode, _outline

ResolutionName = Literal["resolved", "ambiguous", "external", "builtin", "unresolved"]
ReferenceKind = Literal["call", "read", "write", "import", "inherit", "type"]


class PositionParams(WorkspaceParams):
    path: PathText = Field(description="File path, relative to the root or absolute")
    line: int = Field(ge=1, description="1-based line")
    column: int = Field(ge=1, description="1-based character column")


class SymbolAtParams(WorkspaceParams):
    path: PathText = Field(description="File path, relative to the root or absolute")
    line: int = Field(ge=1, description="1-based line")
    column: int | None = Field(None, ge=1, description="1-based character column")


class SymbolAtResult(FreshResult):
    path: str
    symbol: OutlineNode | None = Field(
        description="The innermost definition spanning the line, with its members (None at "
        "module level)"
    )


class Definition(Result):
    path: str
    line: int
    column: int
    name: str
    qualname: str
    kind: str = Field(description="class, function, method, ... or module")


class DefinitionResult(FreshResult):
    name: str | None = Field(description="The name at the position (None: no name there)")
    resolution: ResolutionName
    definitions: list[Definition] = Field(description="Every candidate (several: ambiguous)")
    external: str | None = Field(
        None, description="The external or builtin name (external, builtin resolutions)"
    )


async def indexed(ctx: RpcContext, path: str, line: int | None = None) -> tuple[str, FileExtract]:
    """A client's file as the index holds it; refused when skipped, not indexed, or shorter
    than ``line``."""
    ws = ctx.workspace
    rel = ws.relative(path)
    index = await service.answerable(ctx.daemon, ws)
    extract = index.peek(rel)
    if extract is None and rel in index.facts:
        extract = await interactive(index.read, rel)
    if extract is None:
        refuse_skipped(ws, rel)
        raise service.settled_absence(ctx.daemon, ws, rel, "not an indexed file")
    if line is not None and line > max(extract.lines, 1):
        raise InvalidParams(f"line {line} is past the end of {rel} ({extract.lines} lines)")
    return rel, extract


def _bound(rel: str, extract: FileExtract) -> None:
    if extract.language not in BOUND:
        raise Unsupported(
            f"names are not bound in {extract.language or 'unknown'} files yet: {rel}"
        )


def definition_of(path: str, symbol: Symbol) -> Definition:
    return Definition(
        path=path, line=symbol.line, column=symbol.column, name=symbol.name,
        qualname=symbol.qualname, kind=symbol.kind,
    )  # fmt: skip


def _definitions(nav: Navigator, values: list[Value]) -> list[Definition]:
    found = []
    for value in values:
        if value.kind == SYM:
            symbol = nav.symbol(value)
            if symbol is not None:
                found.append(definition_of(value.path, symbol))
        elif value.kind == MOD:
            name = value.name.rsplit(".", 1)[-1]
            found.append(
                Definition(path=value.path, line=1, column=1, name=name, qualname=value.name,
                           kind="module")
            )  # fmt: skip
    return found


async def symbol_at(params: SymbolAtParams, ctx: RpcContext) -> SymbolAtResult:
    rel, extract = await indexed(ctx, params.path, params.line)
    found = innermost(extract.symbols, params.line)
    node = None
    if found is not None:
        inside = [s for s in extract.symbols if s.qualname.startswith(found.qualname + ".")]
        node = _outline([found, *inside])[0]
    return SymbolAtResult(
        path=rel, symbol=node, pending=not service.is_ready(ctx.daemon, ctx.workspace.id)
    )


def _definition(
    index: WorkspaceIndex, rel: str, extract: FileExtract, line: int, column: int
) -> tuple[str | None, Resolution, list[Definition]]:
    nav = Navigator(index)
    # C/C++ and JS/TS definitions' names are sites of their own (`cbind`, `jsbind` def sites)
    defined = None if is_c(rel) else definition_named_at(extract.symbols, line, column)
    if defined is not None and extract.language == "python":
        value = Value(SYM, rel, defined.qualname)
        return defined.name, Resolution(RESOLVED, [value]), [definition_of(rel, defined)]
    site = site_at(index, rel, line, column)
    if site is None:
        return None, Resolution("unresolved", []), []
    resolution = nav.resolve(site)
    return site.name, resolution, _definitions(nav, resolution.values)


def _external(resolution: Resolution) -> str | None:
    if resolution.status in ("external", "builtin"):
        return resolution.values[0].name
    return None


async def definition(params: PositionParams, ctx: RpcContext) -> DefinitionResult:
    rel, extract = await indexed(ctx, params.path, params.line)
    _bound(rel, extract)
    index = await service.answerable(ctx.daemon, ctx.workspace)
    name, resolution, found = await interactive(
        _definition, index, rel, extract, params.line, params.column
    )
    return DefinitionResult(
        name=name, resolution=resolution.status, definitions=found,
        external=_external(resolution),
        pending=not service.is_ready(ctx.daemon, ctx.workspace.id),
    )  # fmt: skip


class ReferencesParams(WorkspaceParams):
    path: PathText | None = Field(None, description="With line and column: the name there")
    line: int | None = Field(None, ge=1)
    column: int | None = Field(None, ge=1)
    name: str | None = Field(
        None, min_length=1, max_length=200, description="A symbol's (qualified) name"
    )
    limit: int = Field(1000, ge=1, le=10_000)
    include_overrides: bool = Field(
        False,
        description="A Python method's: also the methods overriding it in subclasses (kind "
        "inherit, at each one's name; a JS/TS method's family always counts)",
    )

    @model_validator(mode="after")
    def _one_way(self) -> ReferencesParams:
        position = (self.path, self.line, self.column)
        # A path without line or column is refused by the handler, once the path is checked.
        if self.name is None and self.path is None:
            raise ValueError("give name, or path, line and column")
        if self.name is not None and any(p is not None for p in position):
            raise ValueError("give name, or path, line and column, not both")
        return self


class Reference(Result):
    path: str
    line: int
    column: int
    kind: ReferenceKind
    scope: str = Field(description="Qualified name of the definition it is in ('' at module level)")
    text: str = Field(description="The source line")
    resolution: Literal["resolved", "ambiguous"]


class ReferencesResult(FreshResult):
    symbol: Definition | None = Field(description="The symbol whose references these are")
    candidates: list[Definition] = Field(
        default_factory=list, description="Every symbol the name or position stands for"
    )
    resolution: ResolutionName
    references: list[Reference]
    truncated: bool = Field(False, description="More references than limit")


def symbols_named(nav: Navigator, index: WorkspaceIndex, name: str) -> list[Definition]:
    """The definitions a name or dotted qualified name (``Class.meth``, ``pkg.mod.func``) stands
    for, exactly."""
    name = name.replace("::", ".").lstrip(".")  # C++ spells scopes with ::
    candidates = definitions_named(index, name.rsplit(".", 1)[-1])
    found = []
    modules = nav.resolver.modules
    for path, qualname in sorted(candidates):
        module = modules.module_name(path)
        dotted = f"{module[1]}.{qualname}" if module else qualname
        if "." in name and not (qualname == name or dotted == name or dotted.endswith("." + name)):
            continue
        symbol = nav.symbol(Value(SYM, path, qualname))
        if symbol is not None:
            found.append(definition_of(path, symbol))
    return nav.c.merged(found)


def _source_lines(root: Path, max_bytes: int, paths: set[str]) -> dict[str, list[str]]:
    lines = {}
    for path in paths:
        try:
            lines[path] = read_bytes(root, path, max_bytes).decode("utf-8", "replace").splitlines()
        except OSError:
            lines[path] = []
    return lines


def find_references(
    index: WorkspaceIndex, targets: list[Definition], limit: int, include_overrides: bool = False,
    meanings: dict[tuple[str, str], str] | None = None,
) -> tuple[list[tuple[str, int, int, str, str, str]], bool]:  # fmt: skip
    """(path, line, column, kind, scope, resolution) of each reference, and whether cut;
    ``meanings``: the meaning asked of a TS name declared as a type and a value (`jsmeaning`)."""
    nav = Navigator(index)
    meanings = meanings or {}
    found = []
    keys = {(t.path, t.qualname) for t in targets}
    family = override_family(nav, keys)  # JS/TS: overridden and overriding methods as well
    for site, resolution in nav.references(family):
        keys_of = ((v.path, v.name) for v in resolution.values)
        meaning = next((meanings[k] for k in keys_of if k in meanings), None)
        if not keeps(meaning, site.kind):
            continue
        status = "resolved" if resolution.status == RESOLVED else "ambiguous"
        found.append((site.path, site.line, site.column, site.kind, site.scope, status))
    for path, qualname in family - keys:
        for site in nav.redefinitions(path, qualname, 0):
            found.append((site.path, site.line, site.column, site.kind, site.scope, "resolved"))
    for target in targets:
        meaning = meanings.get((target.path, target.qualname))
        declarations = merged(index, target.path, target.qualname) if meaning else []
        for site in nav.redefinitions(target.path, target.qualname, target.line):
            if not declared_as(meaning, site.line, declarations):
                continue
            found.append((site.path, site.line, site.column, site.kind, site.scope, "resolved"))
    for site in nav.overrides(keys) if include_overrides else ():
        found.append((site.path, site.line, site.column, site.kind, site.scope, "resolved"))
    found = sorted(set(found))
    return found[:limit], len(found) > limit


def _targets(
    index: WorkspaceIndex, rel: str | None, extract: FileExtract | None, params: ReferencesParams
) -> tuple[list[Definition], str]:
    nav = Navigator(index)
    if params.name is not None:
        found = symbols_named(nav, index, params.name)
        if not found:
            raise NotFound(f"no symbol named {params.name}")
        return found, RESOLVED if len(found) == 1 else "ambiguous"
    assert rel is not None and extract is not None and params.line and params.column
    _, resolution, found = _definition(index, rel, extract, params.line, params.column)
    found = [d for d in found if d.kind != "module"]
    return found, resolution.status


def by_meaning(
    index: WorkspaceIndex, rel: str, line: int, column: int, targets: list[Definition]
) -> tuple[list[Definition], dict[tuple[str, str], str]]:
    """``targets`` with a TS name declared as a type and a value taken in the meaning the
    position asks about (`jsmeaning`), and those meanings."""
    site = site_at(index, rel, line, column)
    chosen, meanings = [], {}
    for target in targets:
        declarations = merged(index, target.path, target.qualname) if site is not None else []
        meaning = asked(site.kind, line, declarations) if site and declarations else None
        if meaning is not None:
            meanings[(target.path, target.qualname)] = meaning
            same = [s for s in declarations if meaning_of(s.kind) == meaning]
            target = definition_of(target.path, same[0]) if same else target
        chosen.append(target)
    return chosen, meanings


async def references(params: ReferencesParams, ctx: RpcContext) -> ReferencesResult:
    ws = ctx.workspace
    rel = extract = None
    if params.path is not None:
        rel, extract = await indexed(ctx, params.path, params.line)
        if params.line is None or params.column is None:
            raise InvalidParams("give line and column with path")
        _bound(rel, extract)
    index = await service.answerable(ctx.daemon, ws)
    targets, status = await interactive(_targets, index, rel, extract, params)
    meanings: dict[tuple[str, str], str] = {}
    if rel is not None and params.line and params.column:
        targets, meanings = await interactive(
            by_meaning, index, rel, params.line, params.column, targets
        )
    found, truncated = await interactive(
        find_references, index, targets, params.limit, params.include_overrides, meanings
    )
    lines = await interactive(
        _source_lines, ws.root, ws.settings.max_file_bytes, {f[0] for f in found}
    )
    refs = []
    for path, line, column, kind, scope, resolution in found:
        text = lines.get(path, [])
        refs.append(
            Reference(path=path, line=line, column=column, kind=kind, scope=scope,
                      text=text[line - 1] if line <= len(text) else "", resolution=resolution)
        )  # fmt: skip
    return ReferencesResult(
        symbol=targets[0] if targets else None,
        candidates=targets,
        resolution=status,
        references=refs,
        truncated=truncated,
        pending=not service.is_ready(ctx.daemon, ws.id),
    )


def methods() -> list[RpcMethod]:
    found = ("NOT_FOUND", "INVALID_PATH", "UNAVAILABLE", "INVALID_PARAMS")
    return [
        RpcMethod("index.symbol_at", SymbolAtParams, symbol_at, summary="The innermost definition at a line, with its members",
                  errors=(*found, "TOO_LARGE", "UNSUPPORTED")),
        RpcMethod("index.definition", PositionParams, definition, summary="Where the name at a position is defined",
                  errors=(*found, "TOO_LARGE", "UNSUPPORTED")),
        RpcMethod("index.references", ReferencesParams, references, summary="Every reference to a symbol, by position or name",
                  errors=(*found, "TOO_LARGE", "UNSUPPORTED")),
    ]  # fmt: skip
