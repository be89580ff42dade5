"""The code map through the public interface of a real daemon."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from aegisd.client import RpcCallError
from tests.conftest import DaemonProcess


def wait_indexed(d: DaemonProcess, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = d.call("index.status")
        if status["ready"] and not status["pending"]:
            return status  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "files.py").write_text(
        "class GetFileSummary:\n    def run(self) -> None:\n        pass\n\n\n"
        "def get_file_summary(path: str) -> str:\n    return path\n"
    )
    (root / "pkg" / "web.ts").write_text(
        "export const handler = () => 1;\nclass Widget { draw() {} }\n"
    )
    (root / "pkg" / "blob.py").write_bytes(b"\x00\x01binary")
    (root / "big.txt").write_text("x" * 600_000)
    outside = tmp_path / "outside.py"
    outside.write_text("secret = 1\n")
    (root / "escape.py").symlink_to(outside)
    return root


def test_search_outline_and_preview(daemon_factory: Any, project: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(project))
    status = wait_indexed(d)
    # The binary blob.py and the link out of the root are skipped, not indexed as empty.
    assert status["languages"] == {"python": 1, "typescript": 1}
    assert status["skipped"] == [
        {"path": "escape.py", "reason": "outside the workspace root"},
        {"path": "pkg/blob.py", "reason": "binary (NUL bytes)"},
    ]
    hits = d.call("index.search", {"query": "gfs"})["hits"]
    assert [h["qualname"] for h in hits] == ["GetFileSummary", "get_file_summary"]
    assert hits[1]["line"] == 6 and hits[1]["path"] == "pkg/files.py"
    assert d.call("index.search", {"query": "GetFileSummary.run"})["hits"][0]["kind"] == "method"
    assert (
        d.call("index.search", {"query": "handler", "kind": "function"})["hits"][0]["path"]
        == "pkg/web.ts"
    )
    outline = d.call("index.file", {"path": "pkg/files.py"})["outline"]
    assert outline[0]["children"][0]["qualname"] == "GetFileSummary.run"
    preview = d.call("index.preview", {"path": "pkg/files.py", "start_line": 6, "end_line": 7})
    assert preview["text"] == "def get_file_summary(path: str) -> str:\n    return path\n"
    assert preview["total_lines"] == 7 and preview["media_type"] == "text/x-python"
    for path, code in [
        ("escape.py", "INVALID_PATH"),
        ("../outside.py", "INVALID_PATH"),
        ("/etc/passwd", "INVALID_PATH"),
        ("big.txt", "TOO_LARGE"),
        ("pkg/blob.py", "UNSUPPORTED"),
        ("nope.py", "NOT_FOUND"),
    ]:
        with pytest.raises(RpcCallError) as info:
            d.call("index.preview", {"path": path})
        assert info.value.code_name == code, path


def test_edit_updates_search_and_warm_start_parses_nothing(
    daemon_factory: Any, project: Path
) -> None:
    d: DaemonProcess = daemon_factory("--root", str(project))
    first = wait_indexed(d)
    assert first["parsed"] == 2 and first["loaded"] == 0
    (project / "pkg" / "files.py").write_text("def brand_new_helper():\n    return 1\n")
    clock = d.call("workspace.notify_changes", {"paths": ["pkg/files.py"]})["clock"]
    hits = d.call("index.search", {"query": "brand_new_helper"})
    assert hits["clock"] >= clock and hits["hits"][0]["line"] == 1
    assert d.call("index.search", {"query": "GetFileSummary"})["hits"] == []
    (project / "pkg" / "files.py").write_text("def brand_new_helper(:\n")  # breaks the file
    d.call("workspace.notify_changes", {"paths": ["pkg/files.py"]})
    broken = d.call("index.file", {"path": "pkg/files.py"})
    assert broken["stale"] is True and broken["errors"][0]["line"] == 1
    assert [n["name"] for n in broken["outline"]] == ["brand_new_helper"]  # last good symbols kept
    assert d.stop() == 0
    d2: DaemonProcess = daemon_factory("--root", str(project))
    warm = wait_indexed(d2)
    assert warm["parsed"] == 0 and warm["loaded"] == 2
    assert d2.call("index.search", {"query": "brand_new_helper"})["hits"]


def test_graphs_through_the_daemon(daemon_factory: Any, tmp_path: Path) -> None:
    import shutil

    from tests.conftest import REPO

    root = tmp_path / "pyproj"
    shutil.copytree(REPO / "tests/fixtures/codemap/pyproj", root)
    d: DaemonProcess = daemon_factory("--root", str(root))
    wait_indexed(d)
    graph = d.call("graph.imports")
    assert graph["cycles"] == [
        ["pkg/x.py", "pkg/y.py", "pkg/z.py"],
        ["pkg/a.py", "pkg/b.py"],
        ["pkg/selfish.py"],
    ]
    assert {"source": "pkg/models.py", "target": "pkg/base.py"} in [
        {"source": e["source"], "target": e["target"]} for e in graph["edges"]
    ]
    with_external = d.call("graph.imports", {"path": "pkg/sub/deep.py", "include_external": True})
    assert {e["target"] for e in with_external["edges"] if e["external"]} == {"numpy", "..missing"}
    deps = d.call("graph.dependents", {"path": "pkg/base.py", "transitive": True})["dependents"]
    assert deps == [
        "pkg/__init__.py", "pkg/models.py", "pkg/services.py", "pkg/sub/deep.py",
        "scripts/tool.py", "src/srcpkg/core.py",
    ]  # fmt: skip
    with pytest.raises(RpcCallError) as info:
        d.call("graph.dependents", {"path": "../escape.py"})
    assert info.value.code_name == "INVALID_PATH"
    classes = d.call("graph.classes", {"path": "pkg/models.py"})
    edges = {(e["source"], e["kind"], e["target"]) for e in classes["edges"]}
    assert ("pkg/models.py:Model", "inherits", "pkg/base.py:Base") in edges
    assert ("pkg/models.py:Registry", "instantiates", "pkg/models.py:Model") in edges
    # Breaking the two-file cycle shows up in the next answer (the cached graph is dropped).
    (root / "pkg" / "b.py").write_text("VALUE = 1\n")
    d.call("workspace.notify_changes", {"paths": ["pkg/b.py"]})
    assert ["pkg/a.py", "pkg/b.py"] not in d.call("graph.imports")["cycles"]


def _edges(graph: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["source"], e["target"]) for e in graph["edges"] if not e["external"]}


def test_a_root_that_is_a_package_resolves_its_imports(daemon_factory: Any, tmp_path: Path) -> None:
    # Opened inside a package: the resolver once looped forever on the root's "" package.
    root = tmp_path / "p"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "a.py").write_text("from . import b\n")
    (root / "b.py").write_text("X = 1\n")
    (root / "c.py").write_text("from p import b\nimport p.a\n")
    d: DaemonProcess = daemon_factory("--root", str(root))
    wait_indexed(d)
    graph = d.call("graph.imports")
    assert _edges(graph) == {("a.py", "b.py"), ("c.py", "b.py"), ("c.py", "a.py")}
    assert graph["cycles"] == []
    assert d.call("graph.dependents", {"path": "b.py"})["dependents"] == ["a.py", "c.py"]


def test_a_nested_package_root_is_named_by_its_enclosing_packages(
    daemon_factory: Any, tmp_path: Path
) -> None:
    import shutil

    from tests.conftest import REPO

    # Like opening django/contrib: django/ is a package too, so its modules are
    # django.contrib.*, and both relative and absolute imports of them resolve.
    (tmp_path / "django").mkdir()
    (tmp_path / "django" / "__init__.py").write_text("")
    root = tmp_path / "django" / "contrib"
    shutil.copytree(REPO / "tests/fixtures/codemap/contrib", root)
    d: DaemonProcess = daemon_factory("--root", str(root))
    wait_indexed(d)
    graph = d.call("graph.imports", {"include_external": True})
    assert {(e["source"], e["target"], e["line"], e["kind"]) for e in graph["edges"]} >= {
        ("utils.py", "admin/__init__.py", 3, "top_level"),
        ("utils.py", "auth/__init__.py", 4, "top_level"),
        ("admin/__init__.py", "admin/options.py", 1, "top_level"),
        ("admin/__init__.py", "admin/sites.py", 2, "top_level"),
        ("admin/sites.py", "auth/models.py", 3, "top_level"),
        ("admin/sites.py", "admin/options.py", 4, "top_level"),
        ("admin/options.py", "auth/models.py", 1, "top_level"),  # django.contrib.auth.models
        ("admin/options.py", "admin/sites.py", 3, "top_level"),
        ("auth/__init__.py", "auth/models.py", 2, "deferred"),
        ("auth/models.py", "contenttypes/models.py", 1, "top_level"),
        ("auth/models.py", "admin/sites.py", 6, "deferred"),
        ("contenttypes/models.py", "auth/models.py", 4, "conditional"),
    }
    assert len(_edges(graph)) == 12
    external = {(e["source"], e["target"]) for e in graph["edges"] if e["external"]}
    assert external == {("admin/sites.py", "django"), ("contenttypes/models.py", "typing")}
    # Only imports that run as the modules load make a cycle, shown as a path of imports.
    assert graph["cycles"] == [["admin/options.py", "admin/sites.py"]]
    assert [(e["source"], e["line"], e["target"]) for e in graph["cycle_paths"][0]] == [
        ("admin/options.py", 3, "admin/sites.py"),
        ("admin/sites.py", 4, "admin/options.py"),
    ]
    every = d.call("graph.imports", {"cycle_kinds": ["top_level", "conditional", "deferred"]})
    assert every["cycles"] == [
        ["admin/options.py", "admin/sites.py", "auth/models.py", "contenttypes/models.py"]
    ]
    # No path passes all four once (contenttypes/models.py is entered from auth/models.py
    # alone and leads back to it alone): the shortest through the first file is shown.
    assert [(e["source"], e["target"], e["kind"]) for e in every["cycle_paths"][0]] == [
        ("admin/options.py", "admin/sites.py", "top_level"),
        ("admin/sites.py", "admin/options.py", "top_level"),
    ]
    typed = d.call("graph.imports", {"cycle_kinds": ["top_level", "conditional"]})
    assert typed["cycles"] == [
        ["admin/options.py", "admin/sites.py"],
        ["auth/models.py", "contenttypes/models.py"],
    ]
    deps = d.call("graph.dependents", {"path": "contenttypes/models.py", "transitive": True})
    assert deps["dependents"] == [
        "admin/__init__.py", "admin/options.py", "admin/sites.py", "auth/__init__.py",
        "auth/models.py", "utils.py",
    ]  # fmt: skip
    classes = d.call("graph.classes", {"path": "auth/models.py"})
    edges = {(e["source"], e["kind"], e["target"]) for e in classes["edges"]}
    assert edges == {("auth/models.py:User", "inherits", "contenttypes/models.py:ContentType")}


def _tree_paths(node: dict[str, Any]) -> list[str]:
    found = [node["path"]]
    for child in node.get("children", []):
        found += _tree_paths(child)
    return found


def test_tree_depth_lists_directories_at_each_level(daemon_factory: Any, project: Path) -> None:
    (project / "pkg" / "blob.py").unlink()  # skipped as binary: no part of the tree
    (project / "pkg" / "deep").mkdir()
    (project / "pkg" / "deep" / "leaf.py").write_text("def leaf():\n    pass\n")
    d: DaemonProcess = daemon_factory("--root", str(project))
    wait_indexed(d)
    one = d.call("index.tree", {"depth": 1})["root"]
    assert sorted(_tree_paths(one)) == ["", "big.txt", "pkg"]  # escape.py links outside
    [pkg] = [c for c in one["children"] if c["path"] == "pkg"]
    # Counts cover everything below, though the children are not listed.
    assert (pkg["type"], pkg["files"], pkg["symbols"], pkg["children"]) == ("dir", 3, 7, [])
    two = d.call("index.tree", {"depth": 2})["root"]
    assert sorted(_tree_paths(two)) == [
        "", "big.txt", "pkg", "pkg/deep", "pkg/files.py", "pkg/web.ts",
    ]  # fmt: skip
    whole = d.call("index.tree")["root"]
    assert "pkg/deep/leaf.py" in _tree_paths(whole)
    sub = d.call("index.tree", {"path": "pkg", "depth": 1})["root"]
    assert sorted(_tree_paths(sub)) == [
        "pkg", "pkg/deep", "pkg/files.py", "pkg/web.ts",
    ]  # fmt: skip


def test_an_index_stored_by_an_older_extractor_is_loaded_then_parsed_again(
    daemon_factory: Any, tmp_path: Path
) -> None:
    import sqlite3

    root = tmp_path / "proj"
    root.mkdir()
    (root / "a.py").write_text("import b\n")
    (root / "b.py").write_text("def later():\n    import a\n")
    d: DaemonProcess = daemon_factory("--root", str(root))
    wait_indexed(d)
    assert d.stop() == 0
    # The database as the code map wrote it before import contexts: no extractor column, no
    # migration 3, six fields per import.
    db = sqlite3.connect(d.data_dir / "aegisd.db")
    try:
        with db:
            rows = db.execute("SELECT path, imports FROM codemap_file").fetchall()
            for path, imports in rows:
                old = json.dumps([i[:6] for i in json.loads(imports)])
                db.execute("UPDATE codemap_file SET imports = ? WHERE path = ?", (old, path))
            db.execute("ALTER TABLE codemap_file DROP COLUMN extractor")
            db.execute(
                "DELETE FROM aegisd_migrations WHERE plugin = 'aegisd_codemap' AND number = 3"
            )
    finally:
        db.close()
    d2: DaemonProcess = daemon_factory("--root", str(root))
    warm = wait_indexed(d2)
    assert (warm["loaded"], warm["parsed"]) == (2, 2)  # answered from the store, then re-parsed
    edges = {(e["source"], e["target"], e["kind"]) for e in d2.call("graph.imports")["edges"]}
    assert edges == {("a.py", "b.py", "top_level"), ("b.py", "a.py", "deferred")}
    assert d2.stop() == 0
    d3: DaemonProcess = daemon_factory("--root", str(root))
    assert wait_indexed(d3)["parsed"] == 0
