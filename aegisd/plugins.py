"""The plugin host: built-ins by dotted path, third parties by entry point, each isolated.

Built-in features are registered exactly like third-party plugins. A plugin module may set
`AEGISD_HOOKSPECS` to a module of hook specs of its own, which other plugins then implement
(they must load after it). A plugin that fails to
import, implements a hook that does not exist (a misspelling), or raises in a hook at load or
start time is blocked: unregistered, logged, and listed with its error by `plugins.list`.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import inspect
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy
from loguru import logger

from aegisd import PROJECT_NAME, hookspecs
from aegisd.runaway import Runaways, finish_within

BUILTIN_PLUGINS: tuple[str, ...] = (
    "aegisd.builtin.daemon_methods",
    "aegisd.builtin.workspace_methods",
    "aegisd.builtin.event_methods",
    "aegisd.builtin.overlay_methods",
    "aegisd_codemap.hooks",
    "aegisd_lint.hooks",
    "aegisd_lint.ruff",
    "aegisd_lint.mypy",
    "aegisd_lint.bandit",
    "aegisd_lint.pytest",
    "aegisd_lint.max_file_length",
    "aegisd_audit.hooks",
    "aegisd_similarity.hooks",
    "aegisd_insights.hooks",
    "aegisd_terminal.hooks",
    "aegisd_git.hooks",
)

#: What a restarted daemon needs for its first answers (where is X, what is in this file).
#: `serve` loads these, listens, opens its roots, then loads every other plugin: their imports
#: (about 150 ms) no longer stand between a restart and its first answer.
EARLY_PLUGINS: frozenset[str] = frozenset(
    {
        "aegisd.builtin.daemon_methods",
        "aegisd.builtin.workspace_methods",
        "aegisd.builtin.event_methods",
        "aegisd.builtin.overlay_methods",
        "aegisd_codemap.hooks",
    }
)

ENTRY_POINT_GROUP = "aegisd"
#: what a plugin gets when a deadline has passed (`call_each_async`)
LAST_MOMENT_S = 0.05


@dataclass
class PluginRecord:
    """What `plugins.list` shows about one plugin."""

    name: str
    builtin: bool
    status: str = "active"  # active | blocked | disabled | loading (deferred, not yet loaded)
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    error: str | None = None


def get_plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager knowing every aegisd hook spec (no module-level global)."""
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    problems = []
    known = [name for name in dir(pm.hook) if name.startswith("aegisd_")]
    for name in dir(plugin):
        attr = getattr(plugin, name, None)
        if attr is None or pm.parse_hookimpl_opts(plugin, name) is None:
            continue
        caller = getattr(pm.hook, name, None)
        if caller is None or not caller.has_spec():
            near = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            problems.append(f"unknown hook {name!r}{hint}")
    return problems


class PluginHost:
    """Loads plugins into one manager and calls hooks plugin by plugin, isolating failures."""

    def __init__(self, pm: pluggy.PluginManager | None = None) -> None:
        self.pm = pm or get_plugin_manager()
        self.records: dict[str, PluginRecord] = {}
        self.blocked_count = 0  # read by every daemon.health: no walk over the records
        #: plugins' work that was told to stop and did not (shown by daemon.health)
        self.runaways = Runaways()

    def load(
        self,
        builtins: Iterable[str] = BUILTIN_PLUGINS,
        disabled: Iterable[str] = (),
        extra: Iterable[str] = (),
        found: Iterable[EntryPoint] | None = None,
    ) -> list[str]:
        """Import and register built-ins, `extra` dotted paths and entry-point plugins (`found`,
        or this group's entry points when None); returns the names now active.

        Names in `disabled` are recorded as disabled and not imported at all.
        """
        off = set(disabled)
        active: list[str] = []
        dotted_paths = [(d, True) for d in builtins] + [(d, False) for d in extra]
        for dotted, builtin in dotted_paths:
            if dotted in off:
                self.records[dotted] = PluginRecord(dotted, builtin=builtin, status="disabled")
                continue
            if self._load_one(
                dotted, builtin=builtin, loader=lambda d=dotted: importlib.import_module(d)
            ):
                active.append(dotted)
        for ep in entry_points(group=ENTRY_POINT_GROUP) if found is None else found:
            if ep.name in off:
                self.records[ep.name] = PluginRecord(ep.name, builtin=False, status="disabled")
                continue
            version = ep.dist.version if ep.dist is not None else None
            if self._load_one(ep.name, builtin=False, loader=ep.load, version=version):
                active.append(ep.name)
        return active

    def defer(self, names: Iterable[str], builtin: bool) -> None:
        """Record plugins that will load later (`plugins.list` shows them as loading)."""
        for name in names:
            self.records[name] = PluginRecord(name, builtin=builtin, status="loading")

    def register(self, plugin: object, name: str, builtin: bool = False) -> None:
        """Register an already-imported plugin object (used by tests and embedders)."""
        self._load_one(name, builtin=builtin, loader=lambda: plugin)

    def _load_one(
        self, name: str, *, builtin: bool, loader: Any, version: str | None = None
    ) -> bool:
        record = PluginRecord(name, builtin=builtin, version=version)
        self.records[name] = record
        try:
            plugin = loader()
            specs = getattr(plugin, "AEGISD_HOOKSPECS", None)
            if specs is not None:
                # A plugin may define hooks of its own (e.g. aegisd_lint_tools) for others.
                self.pm.add_hookspecs(specs)
            problems = _unknown_hooks(self.pm, plugin)
            if problems:
                raise TypeError("; ".join(problems))
            self.pm.register(plugin, name=name)
        except Exception as exc:
            self._mark_blocked(record, f"failed to load: {_describe(exc)}", exc)
            return False
        if version is None and isinstance(plugin, ModuleType):
            record.version = getattr(plugin, "__version__", None)
        record.hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])
        return True

    def block(self, name: str, reason: str, exc: BaseException | None = None) -> None:
        """Unregister `name` and record why; the daemon goes on without it."""
        record = self.records.get(name)
        if record is None or record.status == "blocked":
            return
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        self._mark_blocked(record, reason, exc)

    def _mark_blocked(self, record: PluginRecord, reason: str, exc: BaseException | None) -> None:
        self.blocked_count += 1
        record.status = "blocked"
        record.error = reason
        # The traceback goes with the record (the sink writes it, one indented line each).
        logger.opt(exception=exc).error("plugin {} blocked: {}", record.name, reason)

    def implementers(self, hook: str) -> list[str]:
        """The plugins that implement `hook`, by name."""
        caller = getattr(self.pm.hook, hook)
        return [
            self.pm.get_name(impl.plugin) or repr(impl.plugin) for impl in caller.get_hookimpls()
        ]

    def call_each(
        self,
        hook: str,
        *,
        block_on_error: bool,
        only: Collection[str] | None = None,
        skip: Collection[str] = (),
        failed: list[str] | None = None,
        **kwargs: Any,
    ) -> list[tuple[str, Any]]:
        """Call `hook` on each plugin (of `only`, when given; none of `skip`) separately;
        returns (plugin name, result) for non-None.

        A plugin that raises is blocked (load/start phases) or logged (run time) and named in
        `failed`.
        """
        results: list[tuple[str, Any]] = []
        caller = getattr(self.pm.hook, hook)
        for impl in reversed(caller.get_hookimpls()):
            name = self.pm.get_name(impl.plugin) or repr(impl.plugin)
            if (only is not None and name not in only) or name in skip:
                continue
            try:
                args = {arg: kwargs[arg] for arg in impl.argnames}
                value = impl.function(**args)
            except Exception as exc:
                self._on_error(name, hook, exc, block_on_error)
                if failed is not None:
                    failed.append(name)
                continue
            if value is not None:
                results.append((name, value))
        return results

    async def call_each_async(
        self,
        hook: str,
        *,
        block_on_error: bool,
        only: Collection[str] | None = None,
        skip: Collection[str] = (),
        within_s: float | None = None,
        deadline: float | None = None,
        abandoned: list[str] | None = None,
        failed: list[str] | None = None,
        **kwargs: Any,
    ) -> list[tuple[str, Any]]:
        """Like `call_each`, awaiting what each plugin returns when it is awaitable. With
        `within_s`, a plugin whose awaitable takes longer is cancelled and skipped; one that
        does not even stop then is left running, recorded in `runaways` and, by description,
        in `abandoned`. A `deadline` (`time.monotonic()`) bounds them all together: each plugin
        gets what is left of it, if less than `within_s`. Plugins that raised are named in
        `failed`."""
        returned = self.call_each(
            hook, block_on_error=block_on_error, only=only, skip=skip, failed=failed, **kwargs
        )
        return await self.await_each(
            hook,
            returned,
            block_on_error=block_on_error,
            within_s=within_s,
            deadline=deadline,
            abandoned=abandoned,
            failed=failed,
        )

    async def await_each(
        self,
        hook: str,
        returned: list[tuple[str, Any]],
        *,
        block_on_error: bool,
        within_s: float | None = None,
        deadline: float | None = None,
        abandoned: list[str] | None = None,
        failed: list[str] | None = None,
    ) -> list[tuple[str, Any]]:
        """The second half of `call_each_async`: await what `call_each` returned. Split, the
        hooks' synchronous parts run at once and their awaitables may be awaited later.
        Plugins that raised are named in `failed`."""
        results: list[tuple[str, Any]] = []
        for done, (name, value) in enumerate(returned, 1):
            if inspect.isawaitable(value):
                try:
                    limit = _limit(within_s, deadline)
                    if limit is None:
                        value = await value
                    else:
                        what = f"plugin {name} {hook}"
                        task, running = await finish_within(value, limit, what)
                        if running:
                            what = self.runaways.add(task, f"plugin {name}'s {hook}")
                            if abandoned is not None:
                                abandoned.append(what)
                            continue
                        if task.cancelled():
                            continue  # cut short at the timeout (logged)
                        value = task.result()
                except Exception as exc:
                    self._on_error(name, hook, exc, block_on_error)
                    if failed is not None:
                        failed.append(name)
                    continue
                except BaseException:
                    # Cancelled (a workspace closing mid-batch): the later plugins' coroutines
                    # will not run; closed, they do not warn that nobody awaited them.
                    for _, later in returned[done:]:
                        if inspect.iscoroutine(later):
                            later.close()
                    raise
            results.append((name, value))
        return results

    def _on_error(self, name: str, hook: str, exc: Exception, block: bool) -> None:
        if block:
            self.block(name, f"{hook} raised: {_describe(exc)}", exc)
        else:
            logger.opt(exception=exc).error("plugin {} raised in {}", name, hook)

    def blocked(self) -> list[PluginRecord]:
        return [r for r in self.records.values() if r.status == "blocked"]


def _limit(within_s: float | None, deadline: float | None) -> float | None:
    """How long the next plugin may take: `within_s`, or less when `deadline` is nearer (a
    plugin that is out of time still gets a moment to finish what it has done)."""
    if deadline is None:
        return within_s
    left = max(LAST_MOMENT_S, deadline - time.monotonic())
    return left if within_s is None else min(within_s, left)


def preload(dotted: Iterable[str], disabled: Iterable[str]) -> list[EntryPoint]:
    """Import plugin modules ahead of `PluginHost.load` (run in a thread, so the loop keeps
    answering while they import); returns this group's entry points, their modules imported.
    Failures are left for `load` to meet again and record."""
    off = set(disabled)
    for name in dotted:
        if name not in off:
            with contextlib.suppress(Exception):
                importlib.import_module(name)
    found = list(entry_points(group=ENTRY_POINT_GROUP))
    for ep in found:
        if ep.name not in off:
            with contextlib.suppress(Exception):
                ep.load()
    return found


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
