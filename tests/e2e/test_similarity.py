"""The similarity plugin through the public interface of a real daemon."""

from __future__ import annotations

import random
import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from aegisd_similarity.hot import LocalCache
from aegisd_similarity.index import CloneIndex
from aegisd_similarity.match import CloneParams
from aegisd_similarity.report import build_report
from aegisd_similarity.rpc import CloneOut, HotspotOut, SummaryOut
from aegisd_similarity.tokens import tokenize_file
from pydantic import BaseModel

from aegisd.client import RpcCallError
from aegisd.store.core_models import FileStateRow
from tests.conftest import REPO, DaemonProcess
from tests.e2e.test_lint import wait_for
from tests.support.wsclient import WsClient

FIXTURES = REPO / "tests" / "fixtures" / "similarity"

# Every clone in the fixture workspace: (type, first path, second path).
ALL_CLONES = {
    (3, "python/gapped_a.py", "python/gapped_b.py"),
    (3, "cpp/matrix_a.cpp", "cpp/matrix_b.cpp"),
    (2, "python/same_file.py", "python/same_file.py"),
    (1, "python/exact_a.py", "python/exact_b.py"),
    (2, "python/renamed_a.py", "python/renamed_b.py"),
    (1, "ts/store_a.ts", "ts/store_b.ts"),
    (2, "js/cart_a.js", "js/cart_b.js"),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for language in ("python", "js", "ts", "cpp"):
        shutil.copytree(FIXTURES / language, root / language)
    return root


def wait_ready(d: DaemonProcess, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = d.call("similarity.status")
        if status["ready"] and not status["queued"]:
            return status  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def pairs(result: dict[str, Any]) -> set[tuple[int, str, str]]:
    return {(c["type"], c["a"]["path"], c["b"]["path"]) for c in result["clones"]}


def code_of(d: DaemonProcess, method: str, params: dict[str, Any]) -> str:
    with pytest.raises(RpcCallError) as info:
        d.call(method, params)
    return info.value.code_name


def test_report_finds_each_type_and_uses_every_parameter(
    daemon_factory: Any, project: Path
) -> None:
    d: DaemonProcess = daemon_factory("--root", str(project))
    wait_ready(d)
    full = d.call("similarity.report")
    assert pairs(full) == ALL_CLONES
    exact = next(c for c in full["clones"] if c["type"] == 1 and c["a"]["path"].endswith(".py"))
    assert (exact["a"]["start_line"], exact["a"]["end_line"]) == (28, 46)
    assert (exact["b"]["start_line"], exact["b"]["end_line"]) == (15, 34)
    assert exact["preview"].startswith("def summarize_scores(scores, passing=60):")
    gapped = next(c for c in full["clones"] if c["a"]["path"] == "python/gapped_a.py")
    assert 0.7 <= gapped["similarity"] < 1.0
    assert full["summary"]["clones"] == 7 and full["summary"]["files"] == 19
    assert full["hotspots"][0] == {
        "path": "python/gapped_b.py", "lines": 20, "duplicated_lines": 17, "ratio": 0.85,
    }  # fmt: skip

    # Without type 3, only the longest gap-free runs of the gapped pairs remain.
    assert pairs(d.call("similarity.report", {"type3": False})) == {
        p for p in ALL_CLONES if p[0] != 3
    } | {
        (1, "cpp/matrix_a.cpp", "cpp/matrix_b.cpp"),
        (2, "python/gapped_a.py", "python/gapped_b.py"),
    }
    big = d.call("similarity.report", {"min_tokens": 150})
    assert pairs(big) == {(3, "python/gapped_a.py", "python/gapped_b.py")}
    strict = d.call("similarity.report", {"min_similarity": 0.95})
    # A stricter similarity keeps only a tighter part of the gapped pair.
    assert all(c["similarity"] >= 0.95 for c in strict["clones"]) and gapped not in strict["clones"]
    one = d.call("similarity.report", {"limit": 1})
    assert len(one["clones"]) == len(one["hotspots"]) == 1 and one["summary"]["clones"] == 7
    only = d.call("similarity.report", {"paths": ["python/exact_b.py", str(project / "js")]})
    assert pairs(only) == {
        (1, "python/exact_a.py", "python/exact_b.py"),
        (2, "js/cart_a.js", "js/cart_b.js"),
    }
    assert only["summary"]["files"] == 3 and only["summary"]["clones"] == 2
    assert {h["path"] for h in only["hotspots"]} == {
        "python/exact_b.py",
        "js/cart_a.js",
        "js/cart_b.js",
    }
    assert code_of(d, "similarity.report", {"paths": ["../elsewhere"]}) == "INVALID_PATH"
    assert code_of(d, "similarity.report", {"min_tokens": 2}) == "INVALID_PARAMS"


def test_report_follows_edits_and_deletions(daemon_factory: Any, project: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(project))
    wait_ready(d)
    assert pairs(d.call("similarity.report")) == ALL_CLONES
    (project / "python" / "renamed_b.py").write_text("def other():\n    return 42\n")
    clock = d.call("workspace.notify_changes", {"paths": ["python/renamed_b.py"]})["clock"]
    edited = d.call("similarity.report")
    assert edited["clock"] >= clock
    assert pairs(edited) == ALL_CLONES - {(2, "python/renamed_a.py", "python/renamed_b.py")}
    (project / "python" / "exact_b.py").unlink()
    shutil.copy(project / "js" / "cart_a.js", project / "js" / "cart_c.js")
    d.call("workspace.notify_changes", {"paths": ["python/exact_b.py", "js/cart_c.js"]})
    after = d.call("similarity.report")
    assert pairs(after) == ALL_CLONES - {
        (2, "python/renamed_a.py", "python/renamed_b.py"),
        (1, "python/exact_a.py", "python/exact_b.py"),
    } | {(1, "js/cart_a.js", "js/cart_c.js"), (2, "js/cart_b.js", "js/cart_c.js")}
    assert "python/exact_b.py" not in {h["path"] for h in after["hotspots"]}
    assert d.call("similarity.status")["files"] == 19


def test_check_finds_a_pasted_function(daemon_factory: Any, project: Path, tmp_path: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(project))
    wait_ready(d)
    source = (project / "python" / "exact_a.py").read_text().split("\n")
    pasted = "\n".join(source[27:46]).replace("scores", "marks").replace("passing", "bar")
    found = d.call("similarity.check", {"code": pasted})
    assert {(c["type"], c["a"]["path"]) for c in found["clones"]} == {
        (2, "python/exact_a.py"),
        (2, "python/exact_b.py"),
    }
    assert found["clones"][0]["b"] == {"path": "<snippet>", "start_line": 1, "end_line": 19}
    assert found["tokens"] == 146
    assert d.call("similarity.check", {"code": pasted, "min_tokens": 200})["clones"] == []
    assert d.call("similarity.check", {"code": "def f():\n    return 1\n"})["clones"] == []
    js = (project / "js" / "cart_a.js").read_text()
    assert d.call("similarity.check", {"code": js, "language": "javascript"})["clones"]
    assert d.call("similarity.check", {"code": js, "language": "python"})["clones"] == []
    # A file is checked against the others, not against its own indexed version.
    by_path = d.call("similarity.check", {"path": "python/renamed_b.py"})
    assert [(c["type"], c["a"]["path"], c["b"]["path"]) for c in by_path["clones"]] == [
        (2, "python/renamed_a.py", "python/renamed_b.py")
    ]
    loose = d.call("similarity.check", {"path": "python/gapped_b.py"})["clones"]
    assert loose[0]["similarity"] < 0.95
    strict = d.call("similarity.check", {"path": "python/gapped_b.py", "min_similarity": 0.95})
    assert strict["clones"] and all(c["similarity"] >= 0.95 for c in strict["clones"])
    outside = tmp_path / "outside.py"
    outside.write_text(pasted)
    (project / "link.py").symlink_to(outside)
    for bad in ["../outside.py", str(outside), "link.py", "/etc/passwd"]:
        assert code_of(d, "similarity.check", {"path": bad}) == "INVALID_PATH", bad
    assert code_of(d, "similarity.check", {"path": "nope.py"}) == "NOT_FOUND"
    assert code_of(d, "similarity.check", {"path": "python"}) == "INVALID_PATH"
    assert code_of(d, "similarity.check", {"code": "x", "language": "cobol"}) == "UNSUPPORTED"
    assert code_of(d, "similarity.check", {"code": "x", "path": "a.py"}) == "INVALID_PARAMS"
    assert code_of(d, "similarity.check", {}) == "INVALID_PARAMS"


def test_warm_restart_analyzes_only_what_changed(daemon_factory: Any, project: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(project))
    cold = wait_ready(d)
    assert (cold["files"], cold["analyzed"], cold["loaded"]) == (19, 19, 0)
    assert d.stop() == 0, d.output()[-4000:]
    (project / "python" / "renamed_b.py").write_text("def other():\n    return 42\n")
    d2: DaemonProcess = daemon_factory("--root", str(project))
    warm = wait_ready(d2)
    assert (warm["files"], warm["analyzed"], warm["loaded"]) == (19, 1, 19)
    assert pairs(d2.call("similarity.report")) == ALL_CLONES - {
        (2, "python/renamed_a.py", "python/renamed_b.py")
    }
    assert d2.stop() == 0, d2.output()[-4000:]
    d3: DaemonProcess = daemon_factory("--root", str(project))
    assert wait_ready(d3)["analyzed"] == 0


def test_a_stored_index_outlives_a_change_of_interpreter(
    daemon_factory: Any, project: Path
) -> None:
    """Tokens depend on the source alone, on any Python, except where identifiers with
    non-ASCII letters split: that follows the interpreter's Unicode database. After a restart
    on another interpreter (simulated: the rows as it would have stored them) only such files,
    and rows stored before lexers were recorded, are analyzed again."""
    (project / "python" / "units.py").write_text("def größe(wert):\n    return wert * 2\n")
    d: DaemonProcess = daemon_factory("--root", str(project))
    assert wait_ready(d)["analyzed"] == 20
    assert d.stop() == 0, d.output()[-4000:]
    with closing(sqlite3.connect(d.data_dir / "aegisd.db")) as db, db:
        unicode_bound = db.execute(
            "UPDATE similarity_doc SET lexer = lexer || '-another'"
            " WHERE lexer LIKE '%+unicode-%' RETURNING path"
        ).fetchall()
        db.execute("UPDATE similarity_doc SET lexer = NULL WHERE path = 'js/cart_a.js'")
    assert unicode_bound == [("python/units.py",)]
    d2: DaemonProcess = daemon_factory("--root", str(project))
    warm = wait_ready(d2)
    assert (warm["files"], warm["analyzed"], warm["loaded"]) == (20, 2, 18)
    assert pairs(d2.call("similarity.report")) == ALL_CLONES
    assert d2.stop() == 0, d2.output()[-4000:]
    d3: DaemonProcess = daemon_factory("--root", str(project))
    assert wait_ready(d3)["analyzed"] == 0


def test_settings_choose_languages_and_defaults(daemon_factory: Any, project: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(project))
    wait_ready(d)
    d.call("settings.update", {"settings": {"similarity": {"languages": ["python"]}}})
    python_only = d.call("similarity.report")
    assert {p[1].split("/")[0] for p in pairs(python_only)} == {"python"}
    assert python_only["summary"]["files"] == 13
    assert code_of(d, "similarity.check", {"code": "x", "language": "cpp"}) == "UNSUPPORTED"
    d.call("settings.update", {"settings": {"similarity": {"min_tokens": 150, "max_postings": 3}}})
    assert pairs(d.call("similarity.report")) == {(3, "python/gapped_a.py", "python/gapped_b.py")}
    d.call("settings.update", {"settings": {"similarity": {"languages": ["c", "cpp"]}}})
    assert d.call("similarity.report", {"min_tokens": 30})["summary"]["files"] == 2
    assert d.call("similarity.status")["files"] == 2


async def test_first_index_reports_progress(daemon_factory: Any, project: Path) -> None:
    d: DaemonProcess = daemon_factory()
    async with WsClient(d.socket) as ws:
        await ws.call("events.subscribe", {"topics": ["progress"]})
        await ws.call("workspace.open", {"root": str(project)})
        while True:
            note = await ws.next("progress")
            if note["title"] == "finding clones in project" and note["done"] == note["total"]:
                break
        assert note["total"] == 19


def test_a_large_workspace_analyzes_changes_and_what_a_report_asks(
    daemon_factory: Any, project: Path
) -> None:
    """Over full_pass_max_files the workspace says so; files that changed while the daemon
    was away and files that change are analyzed, and a report over everything answers."""
    d: DaemonProcess = daemon_factory("--root", str(project))
    wait_ready(d)
    d.call("settings.update", {"settings": {"full_pass_max_files": 5}})
    assert d.stop() == 0, d.output()[-4000:]
    shutil.copy(project / "js" / "cart_a.js", project / "js" / "cart_c.js")  # while away
    shutil.copy(project / "python" / "exact_a.py", project / "python" / "exact_c.py")
    (project / "python" / "exact_b.py").unlink()
    d2: DaemonProcess = daemon_factory("--root", str(project))
    status = wait_ready(d2)
    assert (status["mode"], status["missing"], status["files"]) == ("changes", 0, 20)
    assert "full_pass_max_files" in status["reason"]
    (project / "js" / "cart_c.js").write_text((project / "js" / "cart_b.js").read_text())
    d2.call("workspace.notify_changes", {"paths": ["js/cart_c.js"]})
    status = wait_ready(d2)
    assert (status["analyzed"], status["files"]) == (3, 20)
    report = None
    for _ in range(100):  # it may answer UNAVAILABLE, with progress, while it analyzes
        try:
            report = d2.call("similarity.report")
            break
        except RpcCallError as e:
            assert e.code_name == "UNAVAILABLE"
            time.sleep(0.1)
    assert report is not None
    assert (1, "python/exact_a.py", "python/exact_c.py") in pairs(report)
    assert (1, "js/cart_b.js", "js/cart_c.js") in pairs(report)
    assert d2.call("similarity.status")["missing"] == 0


def _report(d: DaemonProcess, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """`similarity.report`, asked again while it answers UNAVAILABLE (analyzing what it
    covers, with progress)."""
    for _ in range(300):
        try:
            return d.call("similarity.report", params or {})  # type: ignore[no-any-return]
        except RpcCallError as e:
            assert e.code_name == "UNAVAILABLE", e
            time.sleep(0.1)
    raise AssertionError("similarity.report stayed UNAVAILABLE")


def _forget_clone_index(db_path: Path, *more_tables: str) -> None:
    """Delete the clone index's rows (and `more_tables`' rows) from a stopped daemon's store."""
    tables = ("similarity_doc", "similarity_posting", "similarity_clone", "similarity_spot")
    with closing(sqlite3.connect(db_path)) as db, db:
        for table in (*more_tables, *tables):
            db.execute(f"DELETE FROM {table}")
        db.execute("UPDATE similarity_space SET kept = NULL, whole = 0")


def test_a_large_workspace_leaves_files_never_analyzed_until_asked(
    daemon_factory: Any, project: Path
) -> None:
    """A large workspace whose files the index has never seen (here: its rows gone, as when
    the index moved to disk) analyzes none of them unasked: `missing` counts them; an edit is
    analyzed, a report over a folder analyzes that folder, one over everything the rest."""
    d: DaemonProcess = daemon_factory("--root", str(project))
    wait_ready(d)
    d.call("settings.update", {"settings": {"full_pass_max_files": 5}})
    assert d.stop() == 0, d.output()[-4000:]
    _forget_clone_index(d.data_dir / "aegisd.db")
    d2: DaemonProcess = daemon_factory("--root", str(project))
    status = wait_ready(d2)
    assert (status["mode"], status["missing"], status["files"], status["analyzed"]) == (
        "changes", 19, 0, 0,
    )  # fmt: skip
    snippet = (project / "python" / "exact_a.py").read_text()
    assert d2.call("similarity.check", {"code": snippet})["clones"] == []

    (project / "js" / "cart_c.js").write_text((project / "js" / "cart_b.js").read_text())
    d2.call("workspace.notify_changes", {"paths": ["js/cart_c.js"]})
    status = wait_ready(d2)
    assert (status["missing"], status["files"], status["analyzed"]) == (19, 1, 1)

    python = _report(d2, {"paths": ["python"]})
    assert pairs(python) == {p for p in ALL_CLONES if p[1].startswith("python/")}
    status = d2.call("similarity.status")
    assert (status["mode"], status["missing"], status["files"]) == ("changes", 6, 14)

    everything = _report(d2)
    copies = {(1, "js/cart_b.js", "js/cart_c.js"), (2, "js/cart_a.js", "js/cart_c.js")}
    assert pairs(everything) == ALL_CLONES | copies
    status = d2.call("similarity.status")
    assert (status["mode"], status["missing"], status["files"]) == ("full", 0, 20)
    assert "asked for all" in status["reason"]
    assert d2.call("similarity.check", {"code": snippet})["clones"] != []


_SHAPES = [
    "{a} = {b} + {c}",
    "{a} = {b} - {c} * 2",
    "if {a} < {b}:\n        return {c}",
    "for {a} in {b}:\n        {c}.append({a})",
    "while {a} > {b}:\n        {a} -= 1",
    "{a} = [{b}, {c}, 3]",
    "{a} = {{{b}: {c}}}",
    "assert {a} != {b}, {c}",
    "{a}[{b}] = {c}.get({b})",
    "{a} = ({b}, {c}) if {b} else None",
    "with {a}({b}) as {c}:\n        pass",
    "try:\n        {a}({b})\n    except {c}:\n        raise",
]


def _generated(root: Path, files: int) -> None:
    """`files` small modules of one function each, its statements drawn from `_SHAPES` (so
    some runs repeat by chance), and every tenth a renamed copy of the one before."""
    rng = random.Random(22)
    for n in range(files):
        if n % 10 == 9:
            code = (root / f"m{n // 100}" / f"f{n - 1}.py").read_text()
            code = code.replace("v", "w").replace(f"f{n - 1}", f"f{n}")
        else:
            lines = []
            for _ in range(10):
                a, b, c = (f"v{rng.randrange(50)}" for _ in range(3))
                lines.append("    " + rng.choice(_SHAPES).format(a=a, b=b, c=c))
            code = f"def f{n}(v1, v2):\n" + "\n".join(lines) + "\n"
        path = root / f"m{n // 100}" / f"f{n}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)


def _reference(root: Path, paths: list[str] | None, min_tokens: int = 30) -> dict[str, Any]:
    """The report as an index that never evicts anything makes it, in this process."""
    index = CloneIndex(tokens=LocalCache(1 << 30), lines=LocalCache(1 << 30))
    for file in sorted(root.rglob("*.py")):
        rel = file.relative_to(root).as_posix()
        index.add_file(tokenize_file(rel, file.read_bytes(), "python"))
    built = build_report(index, paths, CloneParams(min_tokens), 10_000)
    index.close()

    def dump(model: type[BaseModel], value: object) -> dict[str, Any]:
        return model.model_validate(value, from_attributes=True).model_dump()

    return {
        "clones": [dump(CloneOut, c) for c in built.clones],
        "hotspots": [dump(HotspotOut, h) for h in built.hotspots],
        "summary": dump(SummaryOut, built.summary),
    }


def _answer(d: DaemonProcess, paths: list[str] | None, min_tokens: int = 30) -> dict[str, Any]:
    query = {"limit": 10_000, "min_tokens": min_tokens}
    found = _report(d, query if paths is None else {**query, "paths": paths})
    return {key: found[key] for key in ("clones", "hotspots", "summary")}


def test_reports_stay_right_while_a_tiny_budget_evicts(daemon_factory: Any, tmp_path: Path) -> None:
    """A 64 MiB budget (less than the daemon needs): the daemon is degraded, the clone
    index's hot sets are evicted over and over, and every answer is still the one an index
    that keeps everything gives, before and after an edit."""
    root = tmp_path / "generated"
    _generated(root, 3000)
    env = {"AEGISD_MEMORY__BUDGET_MIB": "64", "AEGISD_MEMORY__CHECK_INTERVAL_S": "0.2"}
    d: DaemonProcess = daemon_factory("--root", str(root), env=env)
    wait_ready(d, timeout=180)
    assert wait_for(lambda: d.call("daemon.status")["memory"]["over_budget"])
    assert _answer(d, None) == _reference(root, None)
    assert _answer(d, ["m7", "m12/f1205.py"]) == _reference(root, ["m7", "m12/f1205.py"])
    # Other parameters: the kept report is made again in the daemon, every file's tokens read
    # through the hot set (the first one was matched in the workers, which read their own).
    assert _answer(d, None, min_tokens=40) == _reference(root, None, min_tokens=40)

    (root / "m3" / "f301.py").write_text((root / "m25" / "f2500.py").read_text().replace("f2500", "f301"))  # fmt: skip
    d.call("workspace.notify_changes", {"paths": ["m3/f301.py"]})
    wait_ready(d)
    expected = _reference(root, None)
    assert any({c["a"]["path"], c["b"]["path"]} == {"m3/f301.py", "m25/f2500.py"} for c in expected["clones"])  # fmt: skip
    assert _answer(d, None) == expected
    snippet = (root / "m25" / "f2500.py").read_text()
    checked = d.call("similarity.check", {"code": snippet, "limit": 50})["clones"]
    assert {"m3/f301.py", "m25/f2500.py"} <= {c["a"]["path"] for c in checked}
    caches = d.call("daemon.status")["memory"]["caches"]
    assert caches["similarity.tokens"]["evictions"] > 0
    assert d.call("daemon.health")["status"] == "degraded"


def test_a_large_tree_seen_for_the_first_time_is_not_analyzed_unasked(
    daemon_factory: Any, project: Path
) -> None:
    """A large workspace's first index lists every file as created; that is nobody's edit:
    none is analyzed until a report asks (50,000 files' tokens were analyzed unasked)."""
    d: DaemonProcess = daemon_factory("--root", str(project))
    wait_ready(d)
    d.call("settings.update", {"settings": {"full_pass_max_files": 5}})
    assert d.stop() == 0, d.output()[-4000:]
    # As a tree never seen before (its settings kept): no file state, no clone index.
    _forget_clone_index(d.data_dir / "aegisd.db", FileStateRow._meta.table_name)
    d2: DaemonProcess = daemon_factory("--root", str(project))
    status = wait_ready(d2)
    assert (status["mode"], status["missing"], status["files"], status["analyzed"]) == (
        "changes", 19, 0, 0,
    )  # fmt: skip
    assert pairs(_report(d2)) == ALL_CLONES
    assert d2.call("similarity.status")["missing"] == 0
