"""The method registry: what a plugin contributes through `aegisd_rpc_methods`, and base models.

A method is a name, a params model, an async handler and a result model (taken from the handler's
return annotation unless given). Params models forbid unknown keys, so a typo is INVALID_PARAMS
rather than silently ignored. Workspace-scoped methods take `WorkspaceParams` and return a
`FreshResult`; the dispatcher resolves the workspace and stamps `clock` and `pending` once, for all.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import typing
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import CoreSchema

if TYPE_CHECKING:
    from aegisd.rpc.context import RpcContext

#: What an integer param may hold: SQLite's (and most clients') 64-bit range. JSON itself has no
#: limit, and a larger id used to reach the store and fail there as INTERNAL_ERROR.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class _PathMark:
    """Marks a `str` param that names a file or directory (see `PathText`)."""

    def __repr__(self) -> str:
        return "PathText"


PATH_MARK = _PathMark()
#: A param naming a file or directory. A name that is not valid UTF-8 travels in JSON with each
#: undecodable byte 0xXY as the escape `\udcXY` (Python's surrogateescape): such lone
#: surrogates are accepted here, and nowhere else (the dispatcher refuses them).
PathText = Annotated[str, PATH_MARK]


def _bound_ints(node: Any, seen: set[int] | None = None) -> None:
    """Give every `int` core schema under `node` the 64-bit bounds it lacks, in place."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, dict):
        if node.get("type") == "int":
            if "ge" not in node and "gt" not in node:
                node["ge"] = INT64_MIN
            if "le" not in node and "lt" not in node:
                node["le"] = INT64_MAX
        for value in node.values():
            _bound_ints(value, seen)
    elif isinstance(node, list | tuple):
        for value in node:
            _bound_ints(value, seen)


class Int64Model(BaseModel):
    """A model whose integer fields (nested in lists, optionals or other such models too) are
    bounded to 64 bits unless they have a tighter bound of their own: what a client sends."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        schema = handler(source)
        _bound_ints(schema)  # checked by pydantic-core itself: nothing added per request
        return schema


class Params(Int64Model):
    """Base of every params model: unknown keys are refused; integers are 64-bit. Schemas are
    built on first use, not at import: a daemon defines ~120 models and a warm restart should
    not wait for them."""

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


class NotificationParams(BaseModel):
    """Base of the models describing what a notification carries. Used for the API document
    only; unknown keys are refused so a test checking real notifications against the
    document notices a field nobody described."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


Handler = Callable[[Any, "RpcContext"], Awaitable[Any]]

#: The workspace root examples use; the test that runs every example puts a real one in its place.
EXAMPLE_ROOT = "/home/user/src/shop"


@dataclass(frozen=True)
class Example:
    """One call of a method as the API document shows it (an OpenRPC example pairing): the
    params by name and, when short enough to be worth reading, the result. Examples run
    against a small workspace in the tests, so they must be real calls, not sketches."""

    params: Mapping[str, Any]
    name: str = "example"
    summary: str = ""
    result: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Notification:
    """A notification the daemon pushes to WebSocket subscribers (`events.subscribe`), as a
    plugin declares it for the API document; `params` describes what it carries."""

    name: str
    params: type[NotificationParams]
    summary: str
    examples: tuple[Example, ...] = ()


@dataclass(frozen=True)
class Page:
    """A page a plugin serves at `GET /dashboard/<name>` (and its files at
    `/dashboard/<name>/<file>`), behind the same guard as every route. `handler(request)`
    gets the aiohttp request (`request.match_info["file"]` is "" for the page itself) and
    returns its response."""

    name: str
    handler: Callable[[Any], Awaitable[Any]]
    summary: str = ""


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
    #: calls shown in the API document (at least one per method; the tests run each)
    examples: tuple[Example, ...] = ()

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


def with_examples(
    methods: Iterable[RpcMethod], examples: Mapping[str, Sequence[Example]]
) -> list[RpcMethod]:
    """`methods` with the examples `examples` gives by method name: a plugin keeps its
    examples apart from its method definitions, like its documentation."""
    return [
        dataclasses.replace(m, examples=(*m.examples, *examples.get(m.name, ()))) for m in methods
    ]


@functools.cache
def positional_names(model: type[BaseModel]) -> tuple[str, ...]:
    """The order of params passed by position: required ones first, then optional ones, each
    in the model's field order. The API document lists params in this order (OpenRPC puts
    required params before optional ones)."""
    fields = model.model_fields
    required = [name for name, info in fields.items() if info.is_required()]
    return (*required, *(name for name in fields if name not in required))


class DuplicateMethodError(Exception):
    """Two plugins contributed the same method name: startup stops."""


@dataclass
class Registry:
    """Methods (and the notifications plugins push) by name. Built once at startup; a blocked
    plugin's methods are removed."""

    _methods: dict[str, RegisteredMethod] = field(default_factory=dict)
    _notifications: dict[str, tuple[Notification, str]] = field(default_factory=dict)
    _pages: dict[str, tuple[Page, str]] = field(default_factory=dict)

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
        for name, (_, owner) in list(self._notifications.items()):
            if owner == plugin:
                del self._notifications[name]
        for name, (_, owner) in list(self._pages.items()):
            if owner == plugin:
                del self._pages[name]
        return gone

    def add_page(self, page: Page, plugin: str) -> None:
        existing = self._pages.get(page.name)
        if existing is not None and existing[1] != plugin:
            raise DuplicateMethodError(
                f"page {page.name!r} is served by both plugin {existing[1]!r} and plugin {plugin!r}"
            )
        self._pages[page.name] = (page, plugin)

    def page(self, name: str) -> Page | None:
        found = self._pages.get(name)
        return found[0] if found is not None else None

    def add_notification(self, notification: Notification, plugin: str) -> None:
        existing = self._notifications.get(notification.name)
        if existing is not None and existing[1] != plugin:
            raise DuplicateMethodError(
                f"notification {notification.name!r} is declared by both plugin "
                f"{existing[1]!r} and plugin {plugin!r}"
            )
        self._notifications[notification.name] = (notification, plugin)

    def notifications(self) -> list[Notification]:
        return [self._notifications[name][0] for name in sorted(self._notifications)]

    def __iter__(self) -> Iterator[RegisteredMethod]:
        return iter(sorted(self._methods.values(), key=lambda m: m.name))

    def __len__(self) -> int:
        return len(self._methods)

    def names(self) -> list[str]:
        return sorted(self._methods)

    def close_names(self, name: str, limit: int = 3) -> list[str]:
        """Registered names like `name` (a typo's likely meaning), best first."""
        if len(name) > 100:  # a long name is no typo, and difflib's cost grows with it
            return []
        return difflib.get_close_matches(name, self._methods, n=limit, cutoff=0.8)
