"""Insights through a real daemon: fixture projects with known answers, pushed updates, and
LLM generation against a real HTTP server on loopback speaking Ollama's API."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aegisd_insights.prompt import prompt_hash
from pytest_aiohttp import AiohttpServer
from wsclient import WsClient

from aegisd.client import RpcCallError
from tests.conftest import TESTS, DaemonProcess
from tests.plugins.insights.fake_ollama import CHUNKS, MODELS, FakeOllama

FIXTURES = TESTS / "fixtures" / "insights"
LINT_TOOLS = ("ruff", "mypy", "bandit", "pytest", "max_file_length")
NO_LINT = ",".join(["aegisd_lint.hooks", *(f"aegisd_lint.{t}" for t in LINT_TOOLS)])
#: The code map alone feeds the insights (known answers without lint or clone data).
ONLY_CODEMAP = {"AEGISD_PLUGINS__DISABLED": f"{NO_LINT},aegisd_similarity.hooks"}
UNLIMITED = {"AEGISD_RATE_LIMITS__ENABLED": "false"}
SECRET = "kept-on-this-machine"
CYCLE = "import_cycle:pkg/a.py -> pkg/b.py -> pkg/a.py"
DECIDE = "complexity_hotspot:pkg/logic.py::decide"


def branchy(name: str, branches: int) -> str:
    """A function of McCabe complexity branches + 1, returning SECRET on its first branch."""
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(1, branches))
    return f'def {name}(x):\n    if x == 0:\n        return "{SECRET}"\n{body}    return -1\n'


def write(root: Path, files: dict[str, str]) -> None:
    """Write each file atomically (through a scratch file outside the root), so the watcher
    never sees a half-written one."""
    scratch = root.parent / "scratch"
    scratch.mkdir(exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = scratch / path.name
        staged.write_text(text)
        os.replace(staged, path)


def fixture_project(name: str, root: Path) -> None:
    """A real tree for a stage fixture: each file has exactly its `loc` lines, and the classes
    the fixture lists are defined in their files."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    classes: defaultdict[str, list[str]] = defaultdict(list)
    for symbol in data["symbols"]:
        if symbol["kind"] == "class":
            classes[symbol["path"]].append(symbol["qualname"])
    for entry in data["files"]:
        lines = [line for c in classes[entry["path"]] for line in (f"class {c}:", "    pass")]
        lines += [f"v{n} = {n}" for n in range(entry["loc"] - len(lines))]
        write(root, {entry["path"]: "".join(f"{line}\n" for line in lines)})


def small_project(root: Path) -> None:
    write(
        root,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n\n\ndef fa():\n    return b.fb\n",
            "pkg/b.py": "from pkg import a\n\n\ndef fb():\n    return a.fa\n",
            "pkg/logic.py": branchy("decide", 12),
            "tests/test_logic.py": "from pkg.logic import decide\n\n\ndef test_decide():\n"
            "    assert decide(1) == 1\n",
        },
    )


def settled(d: DaemonProcess, workspace: str | None = None, timeout: float = 30) -> Any:
    """insights.list once the set reflects the workspace's current clock."""
    params = {"workspace": workspace} if workspace else {}
    deadline = time.monotonic() + timeout
    while True:
        answer = d.call("insights.list", params)
        if not (answer["pending"] or answer["computing"]) and (
            answer["computed_clock"] == answer["clock"] > 0
        ):
            return answer
        assert time.monotonic() < deadline, answer
        time.sleep(0.05)


def keys(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i["key"], i["severity"]) for i in answer["insights"]]


def test_stage_of_each_fixture_project(daemon_factory: Any, tmp_path: Path) -> None:
    d: DaemonProcess = daemon_factory(env=ONLY_CODEMAP)
    expected = {
        "stage1_prototype": (1, 1.0, 3, 340, [], []),
        "stage2_structured": (
            2, 1.0, 13, 1610, ["factory", "repository", "service"], ["api", "models", "services"],
        ),
        "stage3_layered": (
            3, 1.0, 24, 4080,
            ["adapter", "builder", "controller", "middleware", "observer", "repository",
             "service", "strategy"],
            ["adapters", "api", "db", "domain", "infrastructure", "services", "ui", "views"],
        ),
    }  # fmt: skip
    roots = {}
    for name in expected:
        fixture_project(name, tmp_path / name)
        roots[name] = d.call("workspace.open", {"root": str(tmp_path / name)})["workspace"]["id"]
    for name, (stage, confidence, files, loc, patterns, layers) in expected.items():
        settled(d, roots[name])
        answer = d.call("insights.stage", {"workspace": roots[name]})
        assert (answer["stage"], answer["confidence"]) == (stage, confidence), name
        assert answer["metrics"] == {
            "code_files": files,
            "loc": loc,
            "patterns": patterns,
            "layers": layers,
        }
        assert answer["reasons"][0] == f"stage {stage}: 4 of 4 criteria hold" or stage == 3
    assert d.call("insights.stage", {"workspace": roots["stage3_layered"]})["reasons"][0] == (
        "stage 3: only 0 of 4 stage-2 criteria hold"
    )


async def test_list_history_and_pushed_updates(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "project"
    small_project(root)
    env = ONLY_CODEMAP
    d: DaemonProcess = daemon_factory("--root", str(root), env=env)
    first = await asyncio.to_thread(settled, d)
    assert keys(first) == [
        (CYCLE, "medium"),
        (DECIDE, "medium"),
        ("untested_module:pkg/a.py", "low"),
        ("untested_module:pkg/b.py", "low"),
    ]
    decide = first["insights"][1]
    assert (decide["paths"], decide["symbols"], decide["metrics"]) == (
        ["pkg/logic.py"],
        ["decide"],
        {"complexity": 13, "line": 1},
    )
    assert first["insights"][0]["paths"] == ["pkg/a.py", "pkg/b.py"]
    assert first["insights"][0]["detail"].startswith("pkg/a.py:1 -> pkg/b.py:1 -> pkg/a.py ")
    assert first["sources"] == {"index": True, "lint": False, "clones": False}
    assert first["by_severity"] == {"medium": 2, "low": 2}
    assert {(h["change"], h["key"]) for h in first["history"]} == {
        ("added", k) for k, _ in keys(first)
    }
    one = d.call("insights.list", {"kind": "complexity_hotspot", "limit": 1})
    assert (one["total"], len(one["insights"]), len(one["history"])) == (1, 1, 1)
    with pytest.raises(RpcCallError) as info:
        d.call("insights.list", {"kind": "hotspot"})
    assert info.value.code_name == "INVALID_PARAMS"

    async with WsClient(d.socket) as ws:
        await ws.call("events.subscribe", {"topics": ["insights.updated"]})
        write(
            root,
            {
                "pkg/b.py": "def fb():\n    return 2\n",
                "pkg/logic.py": branchy("decide", 21),
                "pkg/heavy.py": branchy("crunch", 10),
            },
        )
        added: dict[str, Any] = {}
        changed: dict[str, Any] = {}
        removed: set[str] = set()
        heavy = {"complexity_hotspot:pkg/heavy.py::crunch", "untested_module:pkg/heavy.py"}
        while not (
            CYCLE in removed
            and heavy <= set(added)
            and changed.get(DECIDE, {}).get("severity") == "high"
        ):
            note = await ws.next("insights.updated", timeout=20)
            added.update((i["key"], i) for i in note["added"])
            changed.update((i["key"], i) for i in note["changed"])
            removed.update(note["removed"])
            assert note["clock"] > first["clock"]
    assert changed[DECIDE]["metrics"]["complexity"] == 22
    assert changed[DECIDE]["first_seen_clock"] == decide["first_seen_clock"]
    assert added["complexity_hotspot:pkg/heavy.py::crunch"]["metrics"]["complexity"] == 11
    now = await asyncio.to_thread(settled, d)
    # Most severe first, then kind, then key: the same order however the set was assembled.
    assert keys(now) == [
        (DECIDE, "high"),
        ("complexity_hotspot:pkg/heavy.py::crunch", "medium"),
        ("untested_module:pkg/a.py", "low"),
        ("untested_module:pkg/b.py", "low"),
        ("untested_module:pkg/heavy.py", "low"),
    ]
    cycle_history = d.call("insights.list", {"kind": "import_cycle"})["history"]
    assert [h["change"] for h in cycle_history] == ["removed", "added"]

    # A restart keeps the set and its history: nothing is added again.
    d.stop()
    again: DaemonProcess = daemon_factory("--root", str(root), env=env)
    after = await asyncio.to_thread(settled, again)
    assert keys(after) == keys(now)
    assert after["history"] == now["history"]
    assert after["insights"][0]["first_seen_clock"] == decide["first_seen_clock"]


def test_lint_results_make_lint_hotspots(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "project"
    write(root, {"big.py": "".join(f"v{n} = {n}\n" for n in range(1000)), "small.py": "x = 1\n"})
    only_max_length = ",".join(f"aegisd_lint.{t}" for t in LINT_TOOLS[:-1])
    d: DaemonProcess = daemon_factory(
        "--root",
        str(root),
        env={"AEGISD_PLUGINS__DISABLED": f"{only_max_length},aegisd_similarity.hooks"},
    )
    if "lint.report" not in {m["name"] for m in d.call("rpc.discover")["methods"]}:
        pytest.skip("the lint plugin is not installed")
    d.call("settings.update", {"settings": {"insights": {"poll_s": 0.2}}})
    deadline = time.monotonic() + 30
    while "lint_hotspot:big.py" not in (found := {i["key"]: i for i in settled(d)["insights"]}):
        assert time.monotonic() < deadline, found
        time.sleep(0.1)
    hotspot = found["lint_hotspot:big.py"]
    assert (hotspot["severity"], hotspot["metrics"]) == (
        "critical",
        {"critical": 1, "high": 0, "total": 1},
    )
    assert hotspot["detail"].endswith("rules: max_file_length.")
    assert found["oversized_file:big.py"]["metrics"] == {"loc": 1000, "limit": 500}
    assert settled(d)["sources"]["lint"] is True


def collector(name: str, var: str) -> str:
    """Ten lines that are a type-2 clone of any other collector."""
    return (
        f"def {name}(items):\n    {var} = []\n    for item in items:\n"
        f"        if item.size > 10 and item.name:\n            {var}.append(item.name.upper())\n"
        f"        elif item.size < 0:\n            raise ValueError(item)\n        else:\n"
        f"            {var}.append(str(item.size * 2 + 1))\n    return sorted({var})\n"
    )


def test_clone_data_makes_duplication_hotspots(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "project"
    write(
        root,
        {
            "pkg/one.py": collector("collect_names", "names"),
            "pkg/two.py": collector("gather_labels", "labels"),
            "pkg/three.py": "x = 1\n",
        },
    )
    d: DaemonProcess = daemon_factory(
        "--root", str(root), env={"AEGISD_PLUGINS__DISABLED": NO_LINT}
    )

    def duplication() -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while not (answer := settled(d))["sources"]["clones"]:
            assert time.monotonic() < deadline, answer
            time.sleep(0.1)
        return {i["key"]: i for i in answer["insights"] if i["kind"] == "duplication_hotspot"}

    # The clone index may be read between its passes: the next read brings the pair in.
    deadline = time.monotonic() + 30
    while not (found := duplication()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert list(found) == ["duplication_hotspot:pkg/one.py", "duplication_hotspot:pkg/two.py"]
    one = found["duplication_hotspot:pkg/one.py"]
    assert (one["severity"], one["paths"], one["metrics"]) == (
        "high",
        ["pkg/one.py", "pkg/two.py"],
        {"dup_ratio": 1.0, "clone_pairs": 1, "dup_lines": 10},
    )
    assert found["duplication_hotspot:pkg/two.py"]["paths"] == ["pkg/two.py", "pkg/one.py"]
    write(root, {"pkg/two.py": "def gather_labels(items):\n    return [str(i) for i in items]\n"})
    deadline = time.monotonic() + 30
    while duplication():
        assert time.monotonic() < deadline
        time.sleep(0.1)


# -- Ollama ------------------------------------------------------------------------------------


async def fake_server(aiohttp_server: AiohttpServer, fake: FakeOllama) -> str:
    server = await aiohttp_server(fake.app(), host="127.0.0.1")
    return str(server.make_url("")).rstrip("/")


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


async def error_of(ws: WsClient, method: str, params: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(RuntimeError) as info:
        await ws.call(method, params)
    error: dict[str, Any] = info.value.args[0]
    return error


def source_lines(root: Path) -> list[str]:
    """Every distinctive line of code in the project."""
    return [
        line.strip()
        for path in root.rglob("*.py")
        for line in path.read_text().splitlines()
        if len(line.strip()) >= 10
    ]


async def test_generate_streams_stores_and_caches(
    daemon_factory: Any, tmp_path: Path, aiohttp_server: AiohttpServer
) -> None:
    fake = FakeOllama()
    url = await fake_server(aiohttp_server, fake)
    root = tmp_path / "project"
    small_project(root)
    d: DaemonProcess = daemon_factory("--root", str(root), env={**ONLY_CODEMAP, **UNLIMITED})
    listed = await asyncio.to_thread(settled, d)
    async with WsClient(d.socket) as ws:
        settings = {"enabled": True, "base_url": url, "timeout_s": 5}
        await ws.call("settings.update", {"settings": {"insights": settings}})
        answer = await ws.call("insights.generate", {"focus": "refactors"})
        progress = await ws.next("progress")
        assert progress["title"] == "generating insights for project"
        assert progress["done"] == len(CHUNKS[0])
        assert (await ws.next("progress"))["done"] == len("".join(CHUNKS))
        assert answer["content"] == "".join(CHUNKS)
        assert (answer["model"], answer["focus"], answer["trigger"]) == (
            MODELS[0],
            "refactors",
            "request",
        )
        assert (answer["cached"], answer["send_source"], answer["chunks"]) == (False, False, 4)
        assert (answer["prompt_tokens"], answer["output_tokens"]) == (12, 3)
        assert answer["inputs_clock"] == listed["computed_clock"]

        # What left the daemon: names, paths and numbers, no line of code.
        assert len(fake.chat_bodies) == 1
        sent = json.loads(fake.chat_bodies[0])
        assert (sent["model"], sent["stream"]) == (MODELS[0], True)
        assert answer["prompt_hash"] == prompt_hash(sent["model"], sent["messages"])
        text = "\n".join(m["content"] for m in sent["messages"])
        assert "decide has complexity 13" in text and "pkg/a.py:1 -> pkg/b.py:1 -> pkg/a.py" in text
        assert SECRET not in text
        assert [line for line in source_lines(root) if line in text] == []

        again = await ws.call("insights.generate", {"focus": "refactors"})
        assert (again["cached"], again["id"], again["content"]) == (
            True,
            answer["id"],
            answer["content"],
        )
        assert len(fake.chat_bodies) == 1
        stored = (await ws.call("insights.list", {}))["generation"]
        assert stored == {
            k: v for k, v in answer.items() if k not in ("cached", "clock", "pending")
        }

        # With send_source the worst hotspot's code goes along (the check above can fail).
        await ws.call("settings.update", {"settings": {"insights": {"send_source": True}}})
        with_source = await ws.call("insights.generate", {"focus": "refactors"})
        assert (with_source["cached"], with_source["send_source"]) == (False, True)
        assert SECRET in fake.chat_bodies[-1].decode()
        assert len(fake.chat_bodies) == 2


async def test_generate_fails_safely(
    daemon_factory: Any, tmp_path: Path, aiohttp_server: AiohttpServer
) -> None:
    fake = FakeOllama()
    url = await fake_server(aiohttp_server, fake)
    root = tmp_path / "project"
    small_project(root)
    d: DaemonProcess = daemon_factory("--root", str(root), env={**ONLY_CODEMAP, **UNLIMITED})
    await asyncio.to_thread(settled, d)
    async with WsClient(d.socket) as ws:

        async def configure(**values: Any) -> None:
            await ws.call("settings.update", {"settings": {"insights": values}})

        off = await error_of(ws, "insights.generate", {})
        assert off["data"]["code"] == "UNAVAILABLE" and "insights.enabled" in off["message"]
        await configure(base_url=url, model=MODELS[1], timeout_s=0.5)
        status = await ws.call("insights.ollama_status", {})
        assert (status["reachable"], status["version"], status["models"]) == (True, "0.6.2", MODELS)
        assert (status["enabled"], status["model"], status["breaker"]) == (
            False,
            MODELS[1],
            "closed",
        )
        await configure(enabled=True)

        fake.mode = "slow"
        slow = await error_of(ws, "insights.generate", {})
        assert slow["data"]["code"] == "TIMEOUT" and slow["data"]["retry_after_ms"] == 5000

        await configure(timeout_s=5, breaker_failures=2, breaker_cooldown_s=60)
        fake.mode = "busy"
        for _ in range(2):
            busy = await error_of(ws, "insights.generate", {})
            assert busy["data"]["code"] == "UNAVAILABLE"
            assert busy["data"]["retry_after_ms"] == 7000
            assert "HTTP 503" in busy["message"]
        calls = len(fake.chat_bodies)
        assert calls == 3
        fake.mode = "stream"  # the server is fine again, but the circuit is open
        fast = await error_of(ws, "insights.generate", {})
        assert fast["data"]["code"] == "UNAVAILABLE" and "circuit open" in fast["message"]
        assert 0 < fast["data"]["retry_after_ms"] <= 60_000
        assert len(fake.chat_bodies) == calls
        assert (await ws.call("insights.ollama_status", {}))["breaker"] == "open"

        await configure(base_url=closed_port())
        down = await error_of(ws, "insights.generate", {})
        assert down["data"]["code"] == "UNAVAILABLE" and "unreachable" in down["message"]
        assert down["data"]["retry_after_ms"] == 5000
        assert not (await ws.call("insights.ollama_status", {}))["reachable"]
        # The deterministic insights are unaffected.
        assert len((await ws.call("insights.list", {}))["insights"]) == 4


async def test_scheduled_generation_follows_changes(
    daemon_factory: Any, tmp_path: Path, aiohttp_server: AiohttpServer
) -> None:
    fake = FakeOllama()
    url = await fake_server(aiohttp_server, fake)
    root = tmp_path / "project"
    small_project(root)
    d: DaemonProcess = daemon_factory("--root", str(root), env=ONLY_CODEMAP)
    await asyncio.to_thread(settled, d)
    async with WsClient(d.socket) as ws:
        await ws.call("events.subscribe", {"topics": ["insights.updated"]})
        settings = {"enabled": True, "base_url": url, "interval_s": 1, "poll_s": 0.2}
        await ws.call("settings.update", {"settings": {"insights": settings}})

        async def next_generation() -> dict[str, Any]:
            while "generation" not in (note := await ws.next("insights.updated", timeout=20)):
                pass
            generation: dict[str, Any] = note["generation"]
            return generation

        first = await next_generation()
        assert (first["model"], first["trigger"]) == (MODELS[0], "schedule")
        stored = (await ws.call("insights.list", {}))["generation"]
        assert (stored["id"], stored["trigger"]) == (first["id"], "schedule")
        write(root, {"pkg/extra.py": "x = 1\n"})
        second = await next_generation()
        assert second["id"] > first["id"]
        latest = (await ws.call("insights.list", {}))["generation"]
        assert latest["inputs_clock"] > stored["inputs_clock"]
        assert "pkg/extra.py" in json.loads(fake.chat_bodies[-1])["messages"][1]["content"]
