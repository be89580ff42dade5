"""The memory budget seen from outside: `daemon.status` reports the measured tree and each
owner's share, `/metrics` exports them, and a daemon that cannot fit its budget says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import DaemonProcess, isolated_env
from tests.e2e.test_lint import wait_for
from tests.e2e.test_store_faults import get

MiB = 1 << 20
QUICK = {"AEGISD_MEMORY__CHECK_INTERVAL_S": "0.2"}


def measured(d: DaemonProcess) -> dict[str, Any]:
    return wait_for(lambda: (m := d.call("daemon.status")["memory"])["used_bytes"] and m)  # type: ignore[no-any-return]


def test_status_and_metrics_report_the_tree_and_each_share(
    daemon_factory: Any, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "a.py").write_text("def f():\n    return 1\n")
    d: DaemonProcess = daemon_factory("--root", str(root), env=QUICK)
    memory = measured(d)
    assert memory["budget_bytes"] == 512 * MiB and not memory["over_budget"]
    assert 10 * MiB < memory["daemon_bytes"] <= memory["used_bytes"]
    assert memory["cache_allowance_bytes"] >= 4 * MiB
    assert "core" in memory["by_owner"]  # the result cache takes part
    assert d.call("daemon.health")["status"] == "ok"
    status, body = get(d, "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert families["aegisd_memory_budget_bytes"].samples[0].value == 512 * MiB
    assert families["aegisd_memory_used_bytes"].samples[0].value > 10 * MiB
    assert families["aegisd_memory_over_budget"].samples[0].value == 0
    owners = {s.labels["owner"] for s in families["aegisd_memory_share_bytes"].samples}
    assert "core" in owners


def test_a_daemon_over_its_budget_is_degraded_and_answers(
    daemon_factory: Any, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "a.py").write_text("def f():\n    return 1\n")
    env = {**QUICK, "AEGISD_MEMORY__BUDGET_MIB": "16"}  # less than Python itself needs
    d: DaemonProcess = daemon_factory("--root", str(root), env=env)
    health = wait_for(lambda: (h := d.call("daemon.health"))["status"] == "degraded" and h)
    assert any(r.startswith("memory over budget:") and "of 16 MiB" in r for r in health["reasons"])
    memory = d.call("daemon.status")["memory"]
    assert memory["over_budget"] and memory["cache_allowance_bytes"] == 4 * MiB
    # degraded, not broken: the index still answers
    found = wait_for(lambda: d.call("index.search", {"query": "f"})["hits"])
    assert found[0]["name"] == "f"
    assert "memory over budget" in d.output()


def test_a_budget_below_the_minimum_is_refused_naming_the_key(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, AEGISD_MEMORY__BUDGET_MIB="1")
    done = subprocess.run(
        [sys.executable, "-m", "aegisd", "serve", "--socket", str(tmp_path / "a.sock")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "budget_mib" in done.stderr
