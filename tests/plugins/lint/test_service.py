"""How a change batch reaches the workspace's lint worker."""

import asyncio
import pickle
from types import SimpleNamespace
from typing import Any, cast

from aegisd_lint import hooks, model, persist, rpc, service
from aegisd_lint.issues import Issue, Severity
from aegisd_lint.scheduler import ToolScheduler
from aegisd_lint.state import FileResult

from aegisd import hookimpl
from aegisd.daemon import Daemon
from aegisd.plugins import PluginHost
from aegisd.workspace import ChangeBatch, Workspace


def _setup() -> tuple[Any, Any, model.WorkspaceLint]:
    ws = SimpleNamespace(id="w")
    lw = model.WorkspaceLint(cast(Workspace, ws), ToolScheduler())
    daemon = SimpleNamespace(state={model.LINT: model.Linters({}, [], workspaces={"w": lw})})
    return daemon, ws, lw


async def test_an_idle_worker_starts_before_the_hook_returns() -> None:
    daemon, ws, lw = _setup()
    order: list[str] = []

    async def worker() -> None:
        await lw.wake.wait()
        order.append("worker")

    task = asyncio.create_task(worker())
    await asyncio.sleep(0)  # the worker waits for a batch
    turn = service.changed(daemon, ws, ChangeBatch(1, {"a.py": "modified"}, "notify"))
    assert turn is not None
    await turn
    order.append("hook returned")
    assert order == ["worker", "hook returned"]
    assert lw.changes == {"a.py": "modified"}
    await task


async def test_a_busy_worker_only_gets_the_batch_recorded() -> None:
    daemon, ws, lw = _setup()
    async with lw.lock:  # a run is going
        assert service.changed(daemon, ws, ChangeBatch(1, {"a.py": "created"}, "watcher")) is None
    assert service.changed(daemon, ws, ChangeBatch(2, {"b.py": "deleted"}, "watcher")) is None
    assert lw.changes == {"a.py": "created", "b.py": "deleted"} and lw.wake.is_set()


class _Newer:
    """A plugin registered after the linters that reacts to change batches."""

    @hookimpl
    def aegisd_files_changed(self, daemon: Any, workspace: Any, batch: ChangeBatch) -> None:
        daemon.order.append("newer")


async def test_the_linters_hear_of_a_batch_before_newer_plugins() -> None:
    daemon, ws, lw = _setup()
    daemon.order = []
    lw.wake.set = lambda: daemon.order.append("lint")  # type: ignore[method-assign]
    host = PluginHost()
    host.register(hooks, "aegisd_lint.hooks", builtin=True)
    host.register(_Newer(), "newer")
    batch = ChangeBatch(1, {"a.py": "modified"}, "notify")
    await host.call_each_async("aegisd_files_changed", block_on_error=False, daemon=daemon,
                               workspace=ws, batch=batch)  # fmt: skip
    assert daemon.order == ["lint", "newer"]


async def test_reports_are_read_from_the_store_and_never_stale(app_daemon: Daemon) -> None:
    """Memory holds the tallies, not every file's issues: a report reads the store (a recent
    small one comes from the `lint.reports` cache, which a write makes unreachable)."""
    ws = SimpleNamespace(id="w", settings=SimpleNamespace(), large=False)
    lw = model.WorkspaceLint(cast(Workspace, ws), ToolScheduler())
    lw.results.state("ruff")

    async def save(updates: dict[str, FileResult], removed: list[str]) -> None:
        await persist.save(app_daemon, lw, "ruff", updates, removed, asyncio.to_thread)

    def issue(path: str) -> Issue:
        return Issue(tool="ruff", code="E1", message="m", severity=Severity.LOW, path=path)

    await save({f"m{i:04}.py": FileResult("k", 1, [issue(f"m{i:04}.py")]) for i in range(20)}, [])
    ctx = cast(Any, SimpleNamespace(daemon=app_daemon))
    params = rpc.ReportParams(min_severity=Severity.LOW)
    first = await rpc._report(ctx, lw, params, None)
    assert (len(first.files), first.summary.issues) == (20, 20)
    assert len(app_daemon.memory.cache("lint.reports", "lint")) == 1
    assert await rpc._report(ctx, lw, params, None) == first
    await save({"m0000.py": FileResult("k2", 2, [])}, ["m0001.py"])
    after = await rpc._report(ctx, lw, params, None)
    assert (len(after.files), after.summary.issues) == (18, 18)
    assert after.files[0].path == "m0002.py"

    tallies = len(pickle.dumps(lw.results))
    await save({f"m{i:04}.py": FileResult("k", 3, [issue(f"m{i:04}.py")]) for i in range(2000)}, [])
    assert len(pickle.dumps(lw.results)) < tallies + 64  # 2,000 files: the same few counters
    page = await rpc._report(ctx, lw, rpc.ReportParams(limit=500, cursor="m0999.py"), None)
    assert [f.path for f in page.files][:1] == ["m1000.py"] and len(page.files) == 500
    assert page.next_cursor == "m1499.py" and page.summary.issues == 2000


async def test_startup_clears_scratch_dirs_a_killed_daemon_left(app_daemon: Daemon) -> None:
    root = model.scratch_root(app_daemon)
    left = root / "aegisd-lint-mypy-x1y2z3"
    (left / "cache").mkdir(parents=True)
    (left / "cache" / "3.11.json").write_text("{}")
    hooks.aegisd_startup(app_daemon)
    assert root.is_dir() and list(root.iterdir()) == []
