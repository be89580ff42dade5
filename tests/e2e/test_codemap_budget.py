"""The code map of a few thousand files in a daemon with a tiny memory budget: the store is the
index, the budgeted cache of extracts evicts, and every answer stays right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import DaemonProcess
from tests.e2e.test_codemap import wait_indexed
from tests.e2e.test_lint import wait_for

PACKAGES, MODULES, FUNCTIONS = 20, 100, 20


def _module(p: int, m: int) -> str:
    lines = [f"from pkg{p}.mod{m - 1} import helper_{p}_{m - 1}\n\n"] if m else []
    lines.append(f"class Widget_{p}_{m}:\n    def method_{p}_{m}(self):\n        return 1\n\n")
    lines += [f"def helper_{p}_{m}_{f}(x):\n    return x + {f}\n\n" for f in range(FUNCTIONS)]
    lines.append(f"def helper_{p}_{m}():\n    return 0\n")
    return "".join(lines)


def _tree(root: Path) -> int:
    for p in range(PACKAGES):
        package = root / f"pkg{p}"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        for m in range(MODULES):
            (package / f"mod{m}.py").write_text(_module(p, m))
    return PACKAGES * (MODULES + 1)


def _outline(d: DaemonProcess, path: str) -> list[str]:
    found = d.call("index.file", {"path": path})
    return [node["name"] for node in found["outline"]]


def test_a_tiny_budget_evicts_and_answers_stay_right(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "monorepo"
    files = _tree(root)
    env = {"AEGISD_MEMORY__BUDGET_MIB": "64", "AEGISD_MEMORY__CHECK_INTERVAL_S": "0.2"}
    d: DaemonProcess = daemon_factory("--root", str(root), env=env)
    status = wait_indexed(d, timeout=300)
    assert status["files"] == files
    assert status["symbols"] == PACKAGES * MODULES * (FUNCTIONS + 3)
    # More outlines read than the caches may hold (64 MiB is below what the daemon needs:
    # they are at their floor), each right, the first ones again after they were evicted.
    for p in range(8):
        for m in range(MODULES):
            functions = [f"helper_{p}_{m}_{f}" for f in range(FUNCTIONS)]
            outline = [f"Widget_{p}_{m}", *functions, f"helper_{p}_{m}"]
            assert _outline(d, f"pkg{p}/mod{m}.py") == outline
    memory = d.call("daemon.status")["memory"]
    caches = memory["caches"]
    assert caches["codemap.files"]["evictions"] > 0, {
        k: v for k, v in memory.items() if k != "by_owner"
    }
    assert _outline(d, "pkg0/mod0.py")[-1] == "helper_0_0"  # evicted first, read again
    # Search from the store: exact, qualified, module-qualified, initials.
    hit = d.call("index.search", {"query": "helper_7_42", "limit": 1})["hits"][0]
    line = _module(7, 42).splitlines().index("def helper_7_42():") + 1
    assert (hit["path"], hit["line"], hit["match"]) == ("pkg7/mod42.py", line, "exact")
    hits = d.call("index.search", {"query": "Widget_3_9.method_3_9"})["hits"]
    assert [(h["path"], h["match"]) for h in hits[:2]] == [
        ("pkg3/mod9.py", "exact"),
        ("pkg3/mod90.py", "prefix"),  # Widget_3_90.method_3_90
    ]
    hits = d.call("index.search", {"query": "pkg12.mod5.helper_12_5_7"})["hits"]
    assert [h["path"] for h in hits] == ["pkg12/mod5.py"]
    hits = d.call("index.search", {"query": "method_1_1", "limit": 20})["hits"]
    assert [h["qualname"] for h in hits][:2] == ["Widget_1_1.method_1_1", "Widget_1_10.method_1_10"]
    # The import graph, read from the store.
    assert d.call("graph.dependents", {"path": "pkg3/mod10.py"})["dependents"] == ["pkg3/mod11.py"]
    chain = d.call("graph.dependents", {"path": "pkg4/mod95.py", "transitive": True})
    assert chain["dependents"] == [f"pkg4/mod{m}.py" for m in range(96, MODULES)]
    # An edit: searched and outlined fresh, the old names gone.
    (root / "pkg5" / "mod5.py").write_text("def renamed_after_budget():\n    return 1\n")
    wait_for(lambda: d.call("index.search", {"query": "renamed_after_budget"})["hits"])
    assert _outline(d, "pkg5/mod5.py") == ["renamed_after_budget"]
    hits = d.call("index.search", {"query": "helper_5_5_3"})["hits"]
    assert hits and all(h["path"] != "pkg5/mod5.py" and h["match"] != "exact" for h in hits)
    assert d.call("graph.dependents", {"path": "pkg5/mod4.py"})["dependents"] == []
