"""File names that are not UTF-8 are indexed, stored and returned losslessly: in JSON each
undecodable byte 0xXY is the escape \\udcXY, accepted back in path params. Other lone
surrogates, and any in a text that is not a path, are INVALID_PARAMS."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from wsclient import WsClient

from aegisd.client import RpcCallError, _UnixConnection
from tests.conftest import DaemonProcess
from tests.e2e.test_live import wait_fresh
from tests.e2e.test_watcher_faults import poll

BAD = os.fsdecode(b"bad\xff.py")  # "bad\udcff.py"
BAD_JSON = '"bad\\udcff.py"'


def raw_call(d: DaemonProcess, method: str, params: dict[str, Any] | None = None) -> str:
    """The response body exactly as sent."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": 1}
    if params is not None:
        message["params"] = params
    conn = _UnixConnection(d.socket, 30)
    try:
        conn.request("POST", "/rpc", body=json.dumps(message).encode())
        return conn.getresponse().read().decode("utf-8")  # strict: valid UTF-8 on the wire
    finally:
        conn.close()


def ready(d: DaemonProcess) -> dict[str, Any]:
    return poll(lambda: (s := d.call("index.status"))["ready"] and not s["pending"] and s)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "good.py").write_text("def good_one(): pass\n")
    (root / "pkg").mkdir()
    (root / "pkg" / "mod.py").write_text("class Inside: pass\n")
    with open(os.path.join(os.fsencode(root), b"bad\xff.py"), "w") as fh:
        fh.write("def weird_name_func(): pass\n")
    return root


def test_a_non_utf8_name_is_indexed_and_round_trips(daemon_factory: Any, project: Path) -> None:
    d = daemon_factory("--root", str(project))
    status = ready(d)
    assert status["files"] == 3 and status["symbols"] == 3
    # Every answer naming it carries the documented form, and is valid UTF-8 JSON.
    tree = raw_call(d, "index.tree")
    assert BAD_JSON in tree and json.loads(tree)["result"]["root"]["files"] == 3
    search = raw_call(d, "index.search", {"query": "weird_name_func"})
    assert BAD_JSON in search
    [hit] = json.loads(search)["result"]["hits"]
    assert hit["path"] == BAD
    outline = d.call("index.file", {"path": hit["path"]})  # the name sent back as received
    assert outline["path"] == BAD and outline["outline"][0]["name"] == "weird_name_func"
    assert BAD_JSON in raw_call(d, "index.file", {"path": BAD})
    assert d.call("index.preview", {"path": BAD})["text"] == "def weird_name_func(): pass\n"
    # Edits of it are seen (the notifier survives the name) and stored like any other.
    audit = d.call("audit.start_run", {"name": "agent"})
    start = d.call("workspace.changes", {"since": 0})["clock"]
    (project / BAD).write_text("def weird_name_func(): return 2\ndef added_later(): pass\n")
    poll(lambda: d.call("index.search", {"query": "added_later"})["hits"], what="re-index")
    changes = d.call("workspace.changes", {"since": start})["changes"]
    assert {"path": BAD, "kind": "modified"} in changes
    answer = d.call("workspace.notify_changes", {"paths": [BAD]})
    assert answer["errors"] == [] and answer["accepted"] == 1
    d.call("audit.end_run", {"run": audit["id"]})
    events = d.call("audit.list_events", {"run": audit["id"]})["events"]
    assert any(e["type"] == "file_change" and e["payload"]["path"] == BAD for e in events)
    assert d.call("daemon.health")["status"] == "ok"
    assert "Traceback" not in d.output()
    # After a restart it comes back from the store, unchanged and not re-reported.
    clock = d.call("workspace.changes", {"since": 0})["clock"]
    assert d.stop() == 0
    d2 = daemon_factory("--root", str(project))
    assert wait_fresh(d2)["clock"] == clock
    assert d2.call("index.file", {"path": BAD})["outline"][1]["name"] == "added_later"


async def test_the_websocket_carries_it_too(daemon_factory: Any, project: Path) -> None:
    d = daemon_factory("--root", str(project))
    ready(d)
    async with WsClient(d.socket) as ws:
        hits = (await ws.call("index.search", {"query": "weird_name_func"}))["hits"]
        assert hits[0]["path"] == BAD
        outline = await ws.call("index.file", {"path": BAD})
        assert outline["path"] == BAD
        await ws.call("events.subscribe", {"topics": ["files.changed"]})
        (project / BAD).write_text("x = 1\n")
        assert (await ws.changes_until(lambda c: BAD in c))[BAD] == "modified"


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("index.file", {"path": "bad\ud800.py"}),  # a surrogate that is no escaped byte
        ("index.preview", {"path": "x\udfff"}),
        ("index.search", {"query": "bad\udcff"}),  # not a path: no surrogate at all
        ("settings.update", {"settings": {"exclude_dirs": ["\udcff"]}}),
        ("workspace.notify_changes", {"paths": ["ok.py", "\ud83d"]}),
        ("audit.start_run", {"name": "\udcff"}),
    ],
)
def test_other_lone_surrogates_are_invalid_params(
    daemon: DaemonProcess, method: str, params: dict[str, Any]
) -> None:
    with pytest.raises(RpcCallError) as info:
        daemon.call(method, params)
    assert info.value.code_name == "INVALID_PARAMS", info.value
    assert "lone surrogate" in json.dumps(info.value.error)


def test_encoded_surrogate_bytes_are_checked_like_escapes(daemon: DaemonProcess) -> None:
    body = '{"jsonrpc": "2.0", "method": "index.file", "params": {"path": "x\ud800"}, "id": 7}'
    status, answer, _ = daemon.post(body.encode("utf-8", "surrogatepass"))
    assert status == 200 and answer["error"]["data"]["code"] == "INVALID_PARAMS"
    assert answer["error"]["data"]["errors"][0]["type"] == "lone_surrogate"
    # A valid pair of escapes is an ordinary character.
    status, answer, _ = daemon.post(
        '{"jsonrpc": "2.0", "method": "index.search", "params": {"query": "\\ud83d\\ude00"}, "id": 8}'
    )
    assert "result" in answer, answer
