"""ToolScheduler: heavy tools one at a time (by default), light ones alongside."""

import asyncio
from pathlib import Path

import pytest
from aegisd_lint.issues import Status
from aegisd_lint.max_file_length import MaxFileLength
from aegisd_lint.mypy import Mypy
from aegisd_lint.pytest import Pytest
from aegisd_lint.ruff import Ruff
from aegisd_lint.scheduler import ToolScheduler
from aegisd_lint.tool import LintTool


async def _hold(
    scheduler: ToolScheduler, tool: LintTool, entered: asyncio.Event, release: asyncio.Event
) -> None:
    async with scheduler.slot(tool):
        entered.set()
        await release.wait()


async def _settle() -> None:
    for _ in range(20):  # let every runnable task take its turn
        await asyncio.sleep(0)


async def test_a_second_heavy_tool_waits_for_the_first() -> None:
    scheduler = ToolScheduler(max_heavy=1, max_parallel=4)
    entered = [asyncio.Event() for _ in range(3)]
    release = asyncio.Event()
    tasks = [
        asyncio.create_task(_hold(scheduler, tool, event, release))
        for tool, event in zip((Mypy(), Pytest(), Ruff()), entered, strict=True)
    ]
    await _settle()
    assert [event.is_set() for event in entered] == [True, False, True]
    release.set()
    await asyncio.gather(*tasks)
    assert all(event.is_set() for event in entered)


async def test_the_heavy_limit_is_configurable() -> None:
    scheduler = ToolScheduler(max_heavy=2, max_parallel=2)
    entered = [asyncio.Event() for _ in range(3)]
    release = asyncio.Event()
    tasks = [
        asyncio.create_task(_hold(scheduler, tool, event, release))
        for tool, event in zip((Mypy(), Pytest(), Ruff()), entered, strict=True)
    ]
    await _settle()
    # two heavy tools fill both general slots; the light one waits for room
    assert [event.is_set() for event in entered] == [True, True, False]
    release.set()
    await asyncio.gather(*tasks)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ToolScheduler(max_heavy=0)


async def test_run_goes_through_a_slot(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n" * 501)
    result = await ToolScheduler().run(MaxFileLength(), tmp_path, ["a.py"])
    assert result.status is Status.FAIL and [i.line for i in result.issues] == [501]
