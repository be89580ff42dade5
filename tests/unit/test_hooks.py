"""Every hook, exercised through a real in-process daemon, and a meta-test that keeps it so.

Each hookspec (the core's and those a plugin declares through `AEGISD_HOOKSPECS`) must have a
test named `test_hook_<hook name>` somewhere under `tests/`: a new hook without one fails
`test_every_hook_has_a_test` (datasette keeps its hooks honest the same way).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import peewee
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import aegisd.hookspecs
from aegisd import hookimpl
from aegisd.app import create_app
from aegisd.daemon import Daemon
from aegisd.plugins import BUILTIN_PLUGINS
from aegisd.rpc.registry import Page, Params, Result, RpcMethod
from aegisd.settings import SectionModel, SettingsSection
from aegisd.store.migrations import Migration
from aegisd.workspace import Workspace
from tests.conftest import TESTS, make_config


class Note(peewee.Model):
    text = peewee.TextField()

    class Meta:
        table_name = "hooktest_note"


class RecorderSettings(SectionModel):
    colour: str = "blue"


class CountResult(Result):
    notes: int


async def count_notes(params: Params, ctx: Any) -> CountResult:
    return CountResult(notes=await ctx.daemon.store.run(Note.select().count))


class Recorder:
    """Implements every core hook and records what it was told, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.changed = asyncio.Event()

    @hookimpl
    def aegisd_store_models(self) -> list[type[peewee.Model]]:
        """The `Note` table."""
        return [Note]

    @hookimpl
    def aegisd_migrations(self) -> list[Migration]:
        """Creates the `Note` table and one row."""
        return [
            Migration(
                "hooktest",
                1,
                "notes",
                [
                    "CREATE TABLE hooktest_note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
                    "INSERT INTO hooktest_note (text) VALUES ('first')",
                ],
            )
        ]

    @hookimpl
    def aegisd_settings_sections(self) -> list[SettingsSection]:
        """The `recorder` section."""
        return [SettingsSection("recorder", RecorderSettings)]

    @hookimpl
    def aegisd_rpc_methods(self) -> list[RpcMethod]:
        """`hooktest.count`: rows in the `Note` table."""
        return [RpcMethod("hooktest.count", Params, count_notes)]

    @hookimpl
    def aegisd_dashboard_pages(self) -> list[Page]:
        """`/dashboard/hooktest`: echoes the file asked for."""

        async def serve(request: web.Request) -> web.Response:
            return web.Response(text=f"hooktest:{request.match_info.get('file', '')}")

        return [Page("hooktest", serve, "echoes")]

    @hookimpl
    def aegisd_startup(self, daemon: Daemon) -> None:
        """Records the start."""
        self.calls.append(("startup", daemon.store.breaker_open))

    @hookimpl
    async def aegisd_shutdown(self, daemon: Daemon) -> None:
        """Records the stop, with a store that is still usable."""
        self.calls.append(("shutdown", await daemon.store.run(Note.select().count)))

    @hookimpl
    def aegisd_workspace_opened(self, daemon: Daemon, workspace: Workspace) -> None:
        """Records the open and the workspace's section of settings."""
        self.calls.append(("opened", workspace.root, workspace.settings.recorder.colour))

    @hookimpl
    def aegisd_workspace_closed(self, daemon: Daemon, workspace: Workspace) -> None:
        """Records the close."""
        self.calls.append(("closed", workspace.root))

    @hookimpl
    def aegisd_files_changed(self, daemon: Daemon, workspace: Workspace, batch: Any) -> None:
        """Records each batch."""
        self.calls.append(("changed", dict(batch.changes), batch.clock))
        self.changed.set()

    @hookimpl
    def aegisd_workspace_trust_changed(self, daemon: Daemon, workspace: Workspace) -> None:
        """Records the workspace's trust as it now is."""
        self.calls.append(("trust", workspace.root, workspace.trusted))


async def _started(tmp_path: Path, **config: Any) -> tuple[Daemon, Recorder]:
    recorder = Recorder()
    daemon = Daemon(make_config(tmp_path, **config))
    daemon.host.register(recorder, "recorder")
    await daemon.start()
    return daemon, recorder


async def test_hook_aegisd_store_models(tmp_path: Path) -> None:
    daemon, _ = await _started(tmp_path)
    try:
        assert Note._meta.database is daemon.store.db  # bound to the daemon's database
        assert await daemon.dispatcher.call("hooktest.count") == {"notes": 1}
    finally:
        await daemon.stop()


async def test_hook_aegisd_migrations(tmp_path: Path) -> None:
    daemon, _ = await _started(tmp_path)
    await daemon.stop()
    again, _ = await _started(tmp_path)  # recorded: the second start does not insert again
    try:
        assert await again.dispatcher.call("hooktest.count") == {"notes": 1}
    finally:
        await again.stop()


async def test_hook_aegisd_settings_sections(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    daemon, _ = await _started(tmp_path)
    try:
        await daemon.workspaces.open(root)
        got = await daemon.dispatcher.call("settings.get")
        assert got["settings"]["recorder"] == {"colour": "blue"}
        updated = await daemon.dispatcher.call(
            "settings.update", {"settings": {"recorder": {"colour": "red"}}}
        )
        assert updated["settings"]["recorder"]["colour"] == "red"
    finally:
        await daemon.stop()


async def test_hook_aegisd_rpc_methods(tmp_path: Path) -> None:
    daemon, _ = await _started(tmp_path)
    try:
        assert daemon.registry.get("hooktest.count") is not None
        names = {m["name"] for m in (await daemon.dispatcher.call("rpc.discover"))["methods"]}
        assert "hooktest.count" in names
    finally:
        await daemon.stop()


async def test_hook_aegisd_dashboard_pages(tmp_path: Path) -> None:
    daemon, _ = await _started(tmp_path)
    client = TestClient(TestServer(create_app(daemon, token="t")))
    await client.start_server()
    try:
        page = await client.get("/dashboard/hooktest?token=t")
        assert (page.status, await page.text()) == (200, "hooktest:")
        file = await client.get("/dashboard/hooktest/app.js", headers={"Authorization": "Bearer t"})
        assert (file.status, await file.text()) == (200, "hooktest:app.js")
        assert (await client.get("/dashboard/hooktest")).status == 401  # guarded like any route
        assert (await client.get("/dashboard/nothing?token=t")).status == 404
    finally:
        await client.close()
        await daemon.stop()


async def test_hook_aegisd_startup(tmp_path: Path) -> None:
    daemon, recorder = await _started(tmp_path)
    try:
        assert recorder.calls == [("startup", False)]
    finally:
        await daemon.stop()


async def test_hook_aegisd_shutdown(tmp_path: Path) -> None:
    daemon, recorder = await _started(tmp_path)
    await daemon.stop()
    assert recorder.calls[-1] == ("shutdown", 1)  # the store was still open


async def test_hook_aegisd_workspace_opened(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    daemon, recorder = await _started(tmp_path)
    try:
        ws, opened = await daemon.workspaces.open(root)
        await daemon.workspaces.open(root)  # idempotent: told once
        assert opened and [c for c in recorder.calls if c[0] == "opened"] == [
            ("opened", ws.root, "blue")
        ]
    finally:
        await daemon.stop()


async def test_hook_aegisd_workspace_closed(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    daemon, recorder = await _started(tmp_path)
    try:
        ws, _ = await daemon.workspaces.open(root)
        await daemon.workspaces.close(str(ws.root))
        assert recorder.calls[-1] == ("closed", ws.root)
    finally:
        await daemon.stop()


async def test_hook_aegisd_files_changed(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    daemon, recorder = await _started(tmp_path)
    try:
        ws, _ = await daemon.workspaces.open(root)
        assert ws.live is not None
        await ws.live.ready.wait()
        recorder.changed.clear()
        (root / "new.py").write_text("x = 1\n")
        await daemon.dispatcher.call("workspace.notify_changes", {"paths": [str(root / "new.py")]})
        await asyncio.wait_for(recorder.changed.wait(), 30)
        changes, clock = recorder.calls[-1][1:]
        assert changes == {"new.py": "created"} and clock == ws.clock
    finally:
        await daemon.stop()


async def test_hook_aegisd_workspace_trust_changed(tmp_path: Path) -> None:
    """Told once per change of an open workspace's trust; a parent's decision covers a child
    and wins over the config's patterns."""
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    daemon, recorder = await _started(tmp_path, trust={"roots": [str(project / "sub")]})
    try:
        ws, _ = await daemon.workspaces.open(project)
        sub, _ = await daemon.workspaces.open(project / "sub")
        assert (ws.trusted, sub.trusted) == (False, True)
        root, trust = await daemon.workspaces.set_trust(str(project), True)
        assert (root, trust.trusted, trust.source) == (project, True, "store")
        await daemon.workspaces.set_trust(ws.id, True)  # no change: no news
        await daemon.workspaces.set_trust(str(project), False)
        told = [call for call in recorder.calls if call[0] == "trust"]
        assert told == [
            ("trust", project, True),  # sub was trusted already
            ("trust", project, False),
            ("trust", project / "sub", False),
        ]
    finally:
        await daemon.stop()


def _hookspec_names() -> set[str]:
    """The core's hooks and every hook a built-in plugin brings through `AEGISD_HOOKSPECS`."""
    modules = [aegisd.hookspecs]
    for dotted in BUILTIN_PLUGINS:
        specs = getattr(importlib.import_module(dotted), "AEGISD_HOOKSPECS", None)
        if specs is not None:
            modules.append(specs)
    return {
        name
        for module in modules
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("aegisd_") and fn.__module__ == module.__name__
    }


def test_every_hook_has_a_test() -> None:
    tests = "\n".join(p.read_text() for p in TESTS.rglob("test_*.py"))
    named = set(re.findall(r"^(?:async )?def (test_hook_\w+)\(", tests, re.M))
    missing = sorted(h for h in _hookspec_names() if f"test_hook_{h}" not in named)
    assert not missing, f"hooks without a test named test_hook_<hook>: {missing}"
