"""Every example in the API document is a real call: run against a live daemon serving a small
workspace (`tests/fixtures/core/shop`), each answers with a result that fits the method's
documented result schema, and each example's documented result fits it too. Meanwhile every
notification pushed to a subscriber fits its documented params, field for field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_aiohttp import AiohttpServer
from wsclient import WsClient

from tests.conftest import start_daemon
from tests.e2e.apidoc_support import (
    copy_shop,
    example_params,
    schema_errors,
    substitute,
    wait_until_ready,
)
from tests.plugins.git.repos import ADA, LINUS, commit, git
from tests.plugins.insights.fake_ollama import FakeOllama

#: run first, in this order: later examples use the run they create, the subscription, ...
FIRST = ("workspace.open", "settings.update", "events.subscribe", "events.unsubscribe",
         "audit.start_run", "audit.log_event", "terminal.open")  # fmt: skip
#: run last, in this order: they end what the others use
LAST = ("audit.end_run", "terminal.close", "index.rebuild", "workspace.close", "daemon.shutdown")
#: ids the examples name, stood for by what the first call answered: terminal.open's session
STAND_INS = {"terminal.open": "term-example"}


TOPICS = ["files.changed", "index.updated", "lint.updated", "audit.event", "insights.updated",
          "progress", "git.changed"]  # fmt: skip


def make_repository(root: Path) -> None:
    """The example workspace as a repository of two commits (for the `git.*` examples)."""
    git(root, "init", "-q", "-b", "main")
    commit(root, "Add the shop", ADA)
    with (root / "shop" / "cart.py").open("a") as fh:
        fh.write("\n# carts are kept per session\n")
    commit(root, "Note how carts are kept", LINUS)


def check_notifications(observer: WsClient, doc: dict[str, Any], problems: list[str]) -> set[str]:
    """Each notification the observer got, against its documented params (no field the
    document does not name); returns the names seen."""
    documented = {n["name"]: n for n in doc["x-notifications"]}
    seen: set[str] = set()
    while not observer.notifications.empty():
        note = observer.notifications.get_nowait()
        name = note["method"]
        seen.add(name)
        if name not in documented:
            problems.append(f"notification {name}: not documented")
            continue
        params = documented[name]["params"]
        schema = {
            "type": "object",
            "properties": {p["name"]: p["schema"] for p in params},
            "required": [p["name"] for p in params if p["required"]],
            "additionalProperties": False,
        }
        for error in schema_errors(doc, schema, note["params"], strict=True):
            problems.append(f"notification {name}: {error}")
    return seen


async def run_examples(ws: WsClient, doc: dict[str, Any], root: Path, problems: list[str]) -> None:
    """Each method's examples, in `run_order`; what does not fit goes to `problems`."""
    by_name = {m["name"]: m for m in doc["methods"]}
    real_ids: dict[str, str] = {}
    for name in run_order(list(by_name)):
        method = by_name[name]
        result_schema = method["result"]["schema"]
        if not method.get("examples"):
            problems.append(f"{name}: no example")
        for example in method.get("examples", []):
            label = f"{name} [{example['name']}]"
            documented = example.get("result", {}).get("value")
            if documented is not None:
                for error in schema_errors(doc, result_schema, documented, strict=True):
                    problems.append(f"{label}: documented result: {error}")
            params = substitute({p["name"]: p["value"] for p in example["params"]}, root)
            params = {k: real_ids.get(v, v) if isinstance(v, str) else v for k, v in params.items()}
            try:
                result: Any = await ws.call(name, params)
            except RuntimeError as exc:
                problems.append(f"{label}: answered an error: {exc}")
                continue
            if name in STAND_INS:
                real_ids[STAND_INS[name]] = result["id"]
            for error in schema_errors(doc, result_schema, result):
                problems.append(f"{label}: result: {error}")


def run_order(names: list[str]) -> list[str]:
    middle = sorted(n for n in names if n not in FIRST and n not in LAST)
    return [n for n in FIRST if n in names] + middle + [n for n in LAST if n in names]


async def test_every_example_runs_and_fits_its_schema(
    tmp_path: Path, aiohttp_server: AiohttpServer
) -> None:
    ollama = await aiohttp_server(FakeOllama().app(), host="127.0.0.1")
    root = copy_shop(tmp_path)
    make_repository(root)
    env = {
        "OLLAMA_HOST": str(ollama.make_url("")).rstrip("/"),
        "AEGISD_RATE_LIMITS__ENABLED": "false",
    }
    d = start_daemon(tmp_path, "--root", str(root), env=env)
    try:
        wait_until_ready(d)
        doc = d.call("rpc.discover")
        by_name = {m["name"]: m for m in doc["methods"]}
        problems: list[str] = []
        async with (
            WsClient(d.socket, client="observer") as observer,
            WsClient(d.socket, client="examples") as ws,
        ):
            await observer.call("events.subscribe", {"topics": TOPICS})
            # An edit, so the watcher, the code map and the linters have something to tell.
            with (root / "shop" / "pricing.py").open("a") as fh:
                fh.write(
                    "\n\ndef free(amount: float) -> float:\n    return apply_discount(amount, 100)\n"
                )
            commit(root, "Free pricing", ADA)  # moves HEAD: git.changed
            await run_examples(ws, doc, root, problems)
            seen = check_notifications(observer, doc, problems)
            seen |= check_notifications(ws, doc, problems)  # pushed to the caller: terminal.*
        assert not problems, "\n".join(problems)
        assert {"files.changed", "index.updated", "lint.updated", "audit.event", "progress",
                "terminal.output", "terminal.exit", "git.changed"} <= seen  # fmt: skip
        assert example_params(by_name["index.file"], root) == {"path": "shop/cart.py"}
    finally:
        d.stop()
