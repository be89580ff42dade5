"""How a change batch reaches the workspace's lint worker."""

import asyncio
import threading
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aegisd_lint import hooks, model, rpc, service
from aegisd_lint.scheduler import ToolScheduler

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


async def test_a_large_report_built_in_a_thread_equals_one_built_inline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aegisd_lint.issues import Issue, Severity
    from aegisd_lint.ruff import Ruff
    from aegisd_lint.state import FileResult

    ws = SimpleNamespace(id="w", settings=SimpleNamespace(), large=False)
    lw = model.WorkspaceLint(cast(Workspace, ws), ToolScheduler())
    lw.results.replace(
        "ruff",
        {
            f"m{i}.py": FileResult(
                "k",
                1,
                [
                    Issue(
                        tool="ruff",
                        code="E1",
                        message="m",
                        severity=Severity.LOW,
                        path=f"m{i}.py",
                        line=i + 1,
                    )
                ],
            )
            for i in range(20)
        },
    )
    lw.results.state("ruff").outcome = "ok"
    linters = model.Linters({"ruff": Ruff()}, [], workspaces={"w": lw})
    ctx = cast(Any, SimpleNamespace(daemon=SimpleNamespace(state={model.LINT: linters})))
    params = rpc.ReportParams(min_severity=Severity.LOW)
    inline = await rpc._report(ctx, lw, params, None)
    monkeypatch.setattr(rpc, "THREADED_REPORT_RESULTS", 5)
    threads: list[str] = []
    real_summarize = rpc.summarize

    def noting(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real_summarize(*args, **kwargs)

    monkeypatch.setattr(rpc, "summarize", noting)
    threaded = await rpc._report(ctx, lw, params, None)
    assert threads and threads[0] != threading.main_thread().name
    assert threaded == inline and len(threaded.files) == 20


async def test_startup_clears_scratch_dirs_a_killed_daemon_left(app_daemon: Daemon) -> None:
    root = model.scratch_root(app_daemon)
    left = root / "aegisd-lint-mypy-x1y2z3"
    (left / "cache").mkdir(parents=True)
    (left / "cache" / "3.11.json").write_text("{}")
    hooks.aegisd_startup(app_daemon)
    assert root.is_dir() and list(root.iterdir()) == []
