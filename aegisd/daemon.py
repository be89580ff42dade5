"""The daemon's composition root: plugins, store, registry, settings, workspaces, events.

It owns start-up order and shut-down order and nothing else; features live in plugins, each
keeping its own state in `daemon.state` under a typed `StateKey`.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Collection, Iterable
from typing import Any, Generic, TypeVar, cast

from loguru import logger

from aegisd import __version__, workers
from aegisd.accesslog import AccessLog
from aegisd.budget import MemoryBudget, MiB
from aegisd.cache import Cache, ResultCacheShare
from aegisd.config import DaemonConfig
from aegisd.events import EventHub
from aegisd.limits import RateLimiter
from aegisd.metrics import Metrics
from aegisd.ownpaths import own_paths
from aegisd.plugins import BUILTIN_PLUGINS, EARLY_PLUGINS, PluginHost, preload
from aegisd.rpc.dispatch import Dispatcher
from aegisd.rpc.registry import Registry
from aegisd.settings import SettingsService
from aegisd.store import core_models
from aegisd.store.database import Store, StorePolicy
from aegisd.store.migrations import run_migrations
from aegisd.watchbudget import WatchBudget
from aegisd.workspace import WorkspaceManager

T = TypeVar("T")


class StateKey(Generic[T]):
    """A typed key into `daemon.state`, like aiohttp's AppKey."""

    def __init__(self, name: str, type_: type[T]) -> None:
        self.name = name
        self.type = type_

    def __repr__(self) -> str:
        return f"StateKey({self.name})"


class State:
    def __init__(self) -> None:
        self._values: dict[StateKey[Any], Any] = {}

    def __getitem__(self, key: StateKey[T]) -> T:
        return cast(T, self._values[key])

    def __setitem__(self, key: StateKey[T], value: T) -> None:
        self._values[key] = value

    def get(self, key: StateKey[T]) -> T | None:
        return cast(T | None, self._values.get(key))

    def pop(self, key: StateKey[T]) -> T | None:
        return cast(T | None, self._values.pop(key, None))


class StartupError(Exception):
    """The daemon cannot start; the message says why (no traceback is shown)."""


class Daemon:
    """Everything one running aegisd holds."""

    def __init__(
        self,
        config: DaemonConfig,
        builtins: Iterable[str] = BUILTIN_PLUGINS,
        host: PluginHost | None = None,
    ) -> None:
        self.config = config
        #: the daemon's own directories and files, hidden from every workspace
        self.own_paths = own_paths(config)
        self.version = __version__
        self.pid = os.getpid()
        self.instance_id = uuid.uuid4().hex[:12]
        self.started_monotonic = time.monotonic()
        self.host = host or PluginHost()
        self._builtins = tuple(builtins)
        #: built-ins `start(defer=True)` left to `load_deferred` (None: nothing is left)
        self._deferred: list[str] | None = None
        self.registry = Registry()
        self.metrics = Metrics()
        self.store = Store(config.db_path, policy=StorePolicy(**config.store.model_dump()))
        self.store.on_retry = self.metrics.store_retries.inc
        self.store.on_failure = self.metrics.store_failures.inc
        self.store.on_fault = self.metrics.store_fault_inc
        self.store.on_latency = self.metrics.store_latency.observe
        self.limits = RateLimiter(config.rate_limits, self.metrics.rate_limited_inc)
        self.cache = Cache(config.cache.max_entries, config.cache.max_bytes)
        self.memory = MemoryBudget(config.memory.budget_mib * MiB, config.memory.check_interval_s)
        self.memory.register(ResultCacheShare(self.cache))
        self.events = EventHub()
        self.access_log = AccessLog(config.log_format, config.log_level)
        self.state = State()
        self.dispatcher = Dispatcher(self)
        self.workspaces = WorkspaceManager(self)
        #: the inotify watches every workspace's notifier draws on
        self.watches = WatchBudget(config.watch.max_watches)
        self.metrics.attach(self)
        self.settings: SettingsService
        self.shutdown_requested: Any = None  # an asyncio.Event set by daemon.shutdown

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_monotonic

    async def start(self, defer: bool = False) -> None:
        """Load plugins, open and migrate the store, build the registry, start plugins.

        With `defer`, only `EARLY_PLUGINS` load now and `load_deferred` brings up the rest;
        meanwhile requests that need them wait (`Dispatcher.plugins_loading`).
        """
        plugins = self.config.plugins
        if defer:
            off = set(plugins.disabled)
            early = [name for name in self._builtins if name in EARLY_PLUGINS]
            deferred = [name for name in self._builtins if name not in EARLY_PLUGINS]
            loaded = self.host.load(early, off, found=())
            self._deferred = deferred
            self.host.defer([name for name in deferred if name not in off], builtin=True)
            self.host.defer([name for name in plugins.extra if name not in off], builtin=False)
            self.dispatcher.plugins_loading(loaded)
        else:
            self.host.load(self._builtins, plugins.disabled, extra=plugins.extra)
        await self.store.open([*core_models.MODELS, *self._contributed("aegisd_store_models")])
        await self._migrate()
        sections = self._contributed("aegisd_settings_sections")
        self.settings = SettingsService(self.store, self.cache, sections, partial=defer)
        await self._bring_up()

    async def load_deferred(self) -> None:
        """Load the plugins `start(defer=True)` left out, then open every open workspace for
        them. Their imports run in a thread: the loop keeps answering meanwhile."""
        deferred, self._deferred = self._deferred, None
        if deferred is None:
            return
        plugins = self.config.plugins
        try:
            names = [*deferred, *plugins.extra]
            found = await asyncio.to_thread(preload, names, plugins.disabled)
            fresh = self.host.load(deferred, plugins.disabled, plugins.extra, found)
            # Registered now: no batch reaches them before their workspaces are opened for them.
            self.workspaces.hold_back(fresh)
            await self.store.bind(self._contributed("aegisd_store_models", only=fresh))
            await self._migrate(only=fresh)
            sections = self._contributed("aegisd_settings_sections", only=fresh)
            self.settings.extend(sections, [ws.id for ws in self.workspaces])
            await self._bring_up(only=fresh)
            active = [name for name in fresh if self.host.records[name].status == "active"]
            await self.workspaces.introduce(active)
            logger.debug("deferred plugins loaded: {}", ", ".join(active))
        finally:
            self.dispatcher.plugins_loaded()

    def _contributed(self, hook: str, only: Collection[str] | None = None) -> list[Any]:
        """Everything plugins (of `only`, when given) return from a list-returning hook."""
        items: list[Any] = []
        for _, contributed in self.host.call_each(hook, block_on_error=True, only=only):
            items.extend(contributed)
        return items

    async def _bring_up(self, only: Collection[str] | None = None) -> None:
        self._build_registry(only)
        for name, _ in await self.host.call_each_async(
            "aegisd_startup", block_on_error=True, only=only, daemon=self
        ):
            logger.debug("plugin {} started", name)
        for record in self.host.blocked():
            self.registry.remove_plugin(record.name)

    async def _migrate(self, only: Collection[str] | None = None) -> None:
        migrations = list(core_models.MIGRATIONS) if only is None else []
        migrations += self._contributed("aegisd_migrations", only=only)
        _, failed = await self.store.run(run_migrations, self.store.db, migrations)
        if core_models.CORE in failed:
            raise StartupError(f"cannot upgrade {self.store.path}: {failed[core_models.CORE]}")
        for plugin, error in failed.items():
            self.host.block(plugin, str(error))

    def _build_registry(self, only: Collection[str] | None = None) -> None:
        from aegisd.rpc.registry import DuplicateMethodError

        registry = self.registry
        contributions = (
            ("aegisd_rpc_methods", registry.add),
            ("aegisd_notifications", registry.add_notification),
            ("aegisd_dashboard_pages", registry.add_page),
        )
        for hook, add in contributions:
            for plugin, items in self.host.call_each(hook, block_on_error=True, only=only):
                for item in items:
                    try:
                        add(item, plugin)
                    except DuplicateMethodError as exc:
                        if only is None:
                            raise StartupError(str(exc)) from None
                        # Loaded late, with the daemon serving: this plugin goes, the daemon
                        # stays.
                        registry.remove_plugin(plugin)
                        self.host.block(plugin, str(exc))
                        break

    async def stop(self, deadline: float | None = None) -> None:
        """Close workspaces, stop plugins, close the store; what waits for plugins all
        within `deadline` (`time.monotonic()`: serve's shutdown_timeout_s, less a reserve)."""
        await self.workspaces.close_all(deadline)
        await self.host.call_each_async(
            "aegisd_shutdown",
            block_on_error=False,
            within_s=self.config.close_timeout_s,
            deadline=deadline,
            daemon=self,
        )
        # The plugins stopped their pools: the forkserver and resource tracker go too.
        await asyncio.to_thread(workers.stop_servers)
        for subscriber in list(self.events.subscribers):
            self.events.remove(subscriber)
        await self.store.close()
        self.access_log.flush()
        logger.info("daemon stopped")

    def health(self) -> dict[str, Any]:
        # Asked for often (bench/rpc.py measures daemon.health): the healthy answer walks
        # nothing but the open workspaces.
        runaways = self.host.runaways
        if not (
            self.host.blocked_count
            or self.workspaces.degraded
            or self.store.degraded
            or runaways
            or self.memory.over_budget
        ):
            return {"status": "ok", "reasons": []}
        reasons = [
            f"plugin {r.name} blocked: {r.error}"
            for r in self.host.records.values()
            if r.status == "blocked"
        ]
        reasons += [
            f"workspace {ws.root} degraded: {ws.degraded}" for ws in self.workspaces if ws.degraded
        ]
        reasons += self.store.degraded_reasons()
        reasons += runaways.reasons()
        reasons += self.memory.reasons()
        return {"status": "degraded" if reasons else "ok", "reasons": reasons}
