"""The method registry: what a plugin contributes through `aegisd_rpc_methods`, and base models.

A method is a name, a params model, an async handler and a result model (taken from the handler's
return annotation unless given). Params models forbid unknown keys, so a typo is INVALID_PARAMS
rather than silently ignored. Workspace-scoped methods take `WorkspaceParams` and return a
`FreshResult`; the dispatcher resolves the workspace and stamps `clock` and `pending` once, for all.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from aegisd.rpc.context import RpcContext


class _PathMark:
    """Marks a `str` param that names a file or directory (see `PathText`)."""

    def __repr__(self) -> str:
        return "PathText"


PATH_MARK = _PathMark()
#: A param naming a file or directory. A name that is not valid UTF-8 travels in JSON with each
#: undecodable byte 0xXY as the escape `\udcXY` (Python's surrogateescape): such lone
#: surrogates are accepted here, and nowhere else (the dispatcher refuses them).
PathText = Annotated[str, PATH_MARK]


class Params(BaseModel):
    """Base of every params model: unknown keys are refused. Schemas are built on first use,
    not at import: a daemon defines ~120 models and a warm restart should not wait for them."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class WorkspaceParams(Params):
    """Params of a workspace-scoped method."""

    workspace: PathText | None = Field(
        None,
        description="Workspace root path or id; may be omitted when exactly one workspace is open.",
    )


class Result(BaseModel):
    """Base of every result model; like `Params`, built on first use."""

    model_config = ConfigDict(defer_build=True)


class FreshResult(Result):
    """Result of a workspace-scoped method: says how fresh it is."""

    clock: int = Field(0, description="The workspace change clock the answer was computed at.")
    pending: bool = Field(
        False, description="True while changes are queued or processed, or the watcher is degraded."
    )


Handler = Callable[[Any, "RpcContext"], Awaitable[Any]]


@dataclass(frozen=True)
class RpcMethod:
    """One JSON-RPC method as a plugin contributes it."""

    name: str
    params: type[Params]
    handler: Handler
    result: type[BaseModel] | None = None
    summary: str = ""
    errors: tuple[str, ...] = ()
    #: rate-limit class: "read" (cheap), "write", or "heavy" (lint.run, index.rebuild, ...)
    cost: str = "read"
    #: answers from memory without waiting on I/O: a WebSocket runs it inline, not in a task
    instant: bool = False
    #: a liveness or progress probe (health, status): clients poll these, so answering one does
    #: not make background work step aside (`aegisd.threads`) as other requests do
    probe: bool = False
    #: answers while `serve` is still opening its --root workspaces (liveness); any other
    #: request waits, or it would find no workspace open (index.status) or report none
    while_opening: bool = False
    #: its answer depends on every plugin (the method list, settings with every section,
    #: opening a workspace for all of them): while `serve` still loads its deferred plugins it
    #: waits for them (`aegisd.plugins.EARLY_PLUGINS`)
    after_plugins: bool = False

    def result_model(self) -> type[BaseModel]:
        """The result model: explicit, or the handler's return annotation."""
        if self.result is not None:
            return self.result
        hints = typing.get_type_hints(self.handler)
        model = hints.get("return")
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"{self.name}: handler must be annotated to return a pydantic model")
        return model

    @property
    def workspace_scoped(self) -> bool:
        return issubclass(self.params, WorkspaceParams)


@dataclass(frozen=True)
class RegisteredMethod:
    """A method in the registry, with the plugin that contributed it and its result model."""

    spec: RpcMethod
    plugin: str
    result: type[BaseModel]

    @property
    def name(self) -> str:
        return self.spec.name


class DuplicateMethodError(Exception):
    """Two plugins contributed the same method name: startup stops."""


@dataclass
class Registry:
    """Methods by name. Built once at startup; a blocked plugin's methods are removed."""

    _methods: dict[str, RegisteredMethod] = field(default_factory=dict)

    def add(self, spec: RpcMethod, plugin: str) -> None:
        existing = self._methods.get(spec.name)
        if existing is not None:
            raise DuplicateMethodError(
                f"method {spec.name!r} is contributed by both plugin {existing.plugin!r} "
                f"and plugin {plugin!r}"
            )
        self._methods[spec.name] = RegisteredMethod(spec, plugin, spec.result_model())

    def get(self, name: str) -> RegisteredMethod | None:
        return self._methods.get(name)

    def remove_plugin(self, plugin: str) -> list[str]:
        gone = [name for name, m in self._methods.items() if m.plugin == plugin]
        for name in gone:
            del self._methods[name]
        return gone

    def __iter__(self) -> Iterator[RegisteredMethod]:
        return iter(sorted(self._methods.values(), key=lambda m: m.name))

    def __len__(self) -> int:
        return len(self._methods)

    def names(self) -> list[str]:
        return sorted(self._methods)
