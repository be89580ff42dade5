"""Operations through a real daemon: metrics, rate limits, TCP token, path confinement, fuzzing."""

from __future__ import annotations

import http.client
import json
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from aegisd.client import RpcCallError, _UnixConnection
from tests.conftest import DaemonProcess


def get(d: DaemonProcess, path: str) -> tuple[int, bytes]:
    conn = _UnixConnection(d.socket, 10)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_metrics_exposition_parses_and_counts(daemon: DaemonProcess) -> None:
    daemon.call("daemon.health")
    daemon.call("settings.get")
    with pytest.raises(RpcCallError):
        daemon.call("nope.nothing")
    status, body = get(daemon, "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    requests = {
        (s.labels["method"], s.labels["outcome"]): s.value
        for s in families["aegisd_rpc_requests"].samples
        if s.name.endswith("_total")
    }
    assert requests[("daemon.health", "ok")] >= 1
    assert requests[("nope.nothing", "METHOD_NOT_FOUND")] == 1
    for name in (
        "aegisd_rpc_duration_seconds", "aegisd_rpc_in_flight", "aegisd_websocket_clients",
        "aegisd_cache_hits", "aegisd_store_query_duration_seconds", "aegisd_store_retries",
        "aegisd_store_breaker_open", "aegisd_watcher_batches", "aegisd_watcher_queue_depth",
        "aegisd_workspaces_degraded", "aegisd_rate_limited", "process_resident_memory_bytes",
    ):  # fmt: skip
        assert name in families, name


def test_rate_limits_refuse_with_retry_after(daemon_factory: Any, tmp_path: Path) -> None:
    d: DaemonProcess = daemon_factory(
        env={"AEGISD_RATE_LIMITS__WRITE__RATE": "1", "AEGISD_RATE_LIMITS__WRITE__BURST": "2",
             "AEGISD_RATE_LIMITS__EXEMPT_CLIENTS": "ci"}
    )  # fmt: skip
    root = str(tmp_path)
    body = json.dumps({"jsonrpc": "2.0", "method": "workspace.open", "params": {"root": root}, "id": 1})
    answers = [d.post(body, headers={"X-Aegisd-Client": "agent"})[1] for _ in range(4)]
    limited = [a for a in answers if "error" in a]
    assert len(limited) == 2
    assert limited[0]["error"]["data"]["code"] == "RATE_LIMITED"
    assert limited[0]["error"]["data"]["retry_after_ms"] > 0
    for _ in range(5):
        assert "result" in d.post(body, headers={"X-Aegisd-Client": "ci"})[1]
    assert "rate limit: client agent" in d.output()


def test_tcp_requires_the_token_and_loopback(daemon_factory: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    d: DaemonProcess = daemon_factory("--tcp", f"127.0.0.1:{port}")
    token_file = d.data_dir / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    body = json.dumps({"jsonrpc": "2.0", "method": "daemon.health", "id": 1})

    def post(headers: dict[str, str]) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/rpc", body, headers)
        response = conn.getresponse()
        data = json.loads(response.read())
        conn.close()
        return response.status, data

    assert post({})[0] == 401
    assert post({"Authorization": "Bearer wrong"})[0] == 401
    status, answer = post({"Authorization": f"Bearer {token}"})
    assert status == 200 and answer["result"]["status"] == "ok"
    status, answer = post({"Authorization": f"Bearer {token}", "Host": "attacker.example"})
    assert status == 403 and answer["error"]["data"]["code"] == "INVALID_REQUEST"


def test_every_method_with_a_path_refuses_escapes(daemon: DaemonProcess, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "ok.py").write_text("x = 1\n")
    outside = tmp_path / "outside.py"
    outside.write_text("secret = 1\n")
    (project / "link.py").symlink_to(outside)
    doc = daemon.call("rpc.discover")
    probed = []
    for method in doc["methods"]:
        params = {p["name"]: p for p in method["params"]}
        for name in ("path", "paths"):
            if name not in params:
                continue
            for bad in ("../outside.py", str(outside), "link.py", "/etc/passwd"):
                value: Any = [bad] if name == "paths" else bad
                with pytest.raises(RpcCallError) as info:
                    daemon.call(method["name"], {name: value})
                assert info.value.code_name == "INVALID_PATH", (method["name"], bad)
            probed.append(method["name"])
    assert {"index.preview", "index.file", "workspace.notify_changes", "graph.dependents"} <= set(probed)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
            lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
        st.builds(
            lambda m, p, i: json.dumps({"jsonrpc": "2.0", "method": m, "params": p, "id": i}).encode(),
            st.sampled_from(["daemon.health", "settings.get", "index.search", "workspace.changes",
                             "index.preview", "settings.update", "nope"]),
            st.dictionaries(st.sampled_from(["query", "path", "since", "settings", "limit", "x"]),
                            st.integers() | st.text(max_size=10) | st.none(), max_size=3),
            st.integers() | st.text(max_size=5),
        ),
        st.just(b"[" * 5000 + b"]" * 5000),
        st.just(b'{"jsonrpc": "2.0", "method": "daemon.health", "id": 1' + b"9" * 5000 + b"}"),
        st.just(b'{"jsonrpc": "2.0", "method": "daemon.health", "id": "\xff\xfe"}'),
    )
)
def test_fuzzed_bodies_always_get_a_valid_response(fuzz_daemon: DaemonProcess, body: bytes) -> None:
    status, answer, _ = fuzz_daemon.post(body)
    assert status in (200, 204)
    if status == 204:
        return
    for item in answer if isinstance(answer, list) else [answer]:
        assert item["jsonrpc"] == "2.0" and "id" in item
        assert ("result" in item) != ("error" in item)
        if "error" in item:
            assert isinstance(item["error"]["code"], int)
            assert {"code", "timestamp", "method", "request_id"} <= set(item["error"]["data"])


@pytest.fixture(scope="module")
def fuzz_daemon(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.conftest import start_daemon

    tmp = tmp_path_factory.mktemp("fuzz")
    (tmp / "p").mkdir()
    d = start_daemon(tmp, "--root", str(tmp / "p"))
    yield d
    assert d.call("daemon.health")["status"] == "ok"  # still healthy after the fuzzing
    d.stop()
