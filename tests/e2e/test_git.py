"""The git plugin through a real daemon's socket, every answer checked against `git` itself, on
repositories of known history (tests/plugins/git/repos.py): renames, a merge, four authors in
four time zones, binary files, a shallow clone, a linked worktree and a bare clone."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from aegisd.client import RpcCallError
from tests.conftest import DaemonProcess, start_daemon
from tests.plugins.git.repos import ADA, LINUS, commit, git, history


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DaemonProcess, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("git")
    root = tmp / "repo"
    ids = history(root)
    shallow = tmp / "shallow"
    git(tmp, "clone", "-q", "--depth", "2", f"file://{root}", str(shallow))
    worktree = tmp / "wt"
    git(root, "worktree", "add", "-q", "-b", "feature", str(worktree), ids["rename"])
    bare = tmp / "bare.git"
    git(tmp, "clone", "-q", "--bare", str(root), str(bare))
    plain = tmp / "plain"
    plain.mkdir()
    (plain / "a.txt").write_text("not a repository\n")
    d = start_daemon(tmp, "--root", str(root))
    try:
        yield d, {"root": root, "ids": ids, "shallow": shallow, "worktree": worktree,
                  "bare": bare, "plain": plain}  # fmt: skip
    finally:
        d.stop()


def call(d: DaemonProcess, method: str, params: dict[str, Any], ws: Path) -> Any:
    return d.call(method, {"workspace": str(ws), **params})


def refused(d: DaemonProcess, method: str, params: dict[str, Any], ws: Path) -> str:
    with pytest.raises(RpcCallError) as info:
        call(d, method, params, ws)
    return info.value.code_name


def git_files(root: Path, *args: str) -> dict[str, list[tuple[str, str | None, str]]]:
    """commit → [(status letter, old path, path)] per `git log --name-status`, our options."""
    out = git(root, "log", "-M", "--diff-merges=first-parent", "--name-status", "-z",
              "--format=%x01%H", *args)  # fmt: skip
    result: dict[str, list[tuple[str, str | None, str]]] = {}
    for chunk in out.split("\x01")[1:]:
        tokens = chunk.strip("\n").split("\0")
        sha, rest = tokens[0].split("\n")[0], [t.strip("\n") for t in tokens[1:] if t.strip("\n")]
        files: list[tuple[str, str | None, str]] = []
        i = 0
        while i < len(rest):
            letter = rest[i][0]
            if letter in "RC":
                files.append((letter, rest[i + 1], rest[i + 2]))
                i += 3
            else:
                files.append((letter, None, rest[i + 1]))
                i += 2
        result[sha] = files
    return result


def test_log_matches_git(world: tuple[DaemonProcess, dict[str, Any]]) -> None:
    d, w = world
    root = w["root"]
    commits = call(d, "git.log", {"limit": 100}, root)["commits"]
    assert [c["hash"] for c in commits] == git(root, "log", "--format=%H").split()
    files = git_files(root)
    for c in commits:
        assert [(f["status"], f["old_path"], f["path"]) for f in c["files"]] == files[c["hash"]]
        fields = git(root, "log", "-1", "--format=%h%n%P%n%an%n%ae%n%aI%n%cI%n%s", c["hash"])
        short, parents, name, email, atime, ctime, subject = fields.split("\n")[:7]
        assert (c["short"], c["parents"], c["author"]["name"], c["author"]["email"]) == (
            short, parents.split(), name, email)  # fmt: skip
        assert (c["author"]["time"], c["committer"]["time"], c["subject"]) == (
            atime, ctime, subject)  # fmt: skip
    # line counts against --numstat; binary files have none
    rename = next(c for c in commits if c["hash"] == w["ids"]["rename"])
    assert rename["subject"] == "Rename app.py to main.py\x1e (with a record mark)"
    numstat = git(root, "show", "--format=", "--numstat", "-M", w["ids"]["rename"]).split("\t")
    assert (rename["files"][0]["added"], rename["files"][0]["removed"]) == (
        int(numstat[0]), int(numstat[1]))  # fmt: skip
    logo = next(c for c in commits if c["hash"] == w["ids"]["binary"])["files"][0]
    assert (logo["binary"], logo["added"], logo["removed"]) == (True, None, None)
    offsets = {c["author"]["time"][-6:] for c in commits}
    assert {"+00:00", "-07:00", "+05:30", "+09:00"} <= offsets


def test_log_pages_and_filters_like_git(world: tuple[DaemonProcess, dict[str, Any]]) -> None:
    d, w = world
    root, ids = w["root"], w["ids"]
    seen: list[str] = []
    cursor = None
    while True:
        page = call(d, "git.log", {"limit": 2, **({"cursor": cursor} if cursor else {})}, root)
        seen += [c["hash"] for c in page["commits"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == git(root, "log", "--format=%H").split()
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"path": "README.md"}, ["--", "README.md"]),
        ({"path": "src"}, ["--", "src"]),
        ({"rev": f"{ids['first']}..{ids['readme']}"}, [f"{ids['first']}..{ids['readme']}"]),
        ({"rev": "main...feature"}, ["main...feature"]),
        ({"rev": "side"}, ["side"]),
        ({"author": "LINUS"}, ["--author=LINUS", "-i"]),
        ({"grep": "readme"}, ["--grep=readme", "-i"]),
        ({"since": "2024-02-15T00:00:00Z"}, ["--since=2024-02-15T00:00:00Z"]),
        ({"until": "2024-03-01T00:00:00+00:00"}, ["--until=2024-03-01T00:00:00+00:00"]),
    ]
    for params, args in cases:
        got = [c["hash"] for c in call(d, "git.log", {"limit": 100, **params}, root)["commits"]]
        assert got == git(root, "log", "--format=%H", *args).split(), params


def test_show_and_diff_match_git(world: tuple[DaemonProcess, dict[str, Any]]) -> None:
    d, w = world
    root, ids = w["root"], w["ids"]
    merge = call(d, "git.show", {"rev": ids["merge"][:10]}, root)["commit"]
    assert merge["hash"] == ids["merge"] and len(merge["parents"]) == 2
    assert [f["path"] for f in merge["files"]] == ["docs/guide with space é.md"]
    changed = call(d, "git.diff", {"rev": "HEAD~1"}, root)
    assert (changed["base"], changed["rev"]) == (ids["readme"], ids["merge"])
    assert [f["path"] for f in changed["files"]] == git(
        root, "diff", "--name-only", "-z", ids["readme"], ids["merge"]).strip("\0").split("\0")  # fmt: skip
    wide = call(d, "git.diff", {"base": ids["first"], "rev": ids["rename"]}, root)["files"]
    # three of eleven short lines changed: too little left for git to call it a rename
    assert [(f["status"], f["path"]) for f in wide] == [("D", "src/app.py"), ("A", "src/main.py")]
    assert git(root, "diff", "-M", "--name-status", ids["first"], ids["rename"]).split() == [
        "D", "src/app.py", "A", "src/main.py"]  # fmt: skip
    span = call(d, "git.diff", {"base": ids["edit"], "rev": ids["rename"]}, root)["files"]
    assert [(f["status"], f["old_path"], f["path"]) for f in span] == [
        ("R", "src/app.py", "src/main.py")]  # fmt: skip
    patch = git(root, "diff", "-M", ids["edit"], ids["rename"])
    hunk_lines = [line for line in patch.splitlines() if line[:1] in " +-" and
                  not line.startswith(("+++", "---"))]  # fmt: skip
    assert [line for h in span[0]["hunks"] for line in h["lines"]] == hunk_lines
    headers = re.findall(r"^@@ -(\d+),?(\d*) \+(\d+),?(\d*) @@", patch, re.M)
    assert [(h["old_start"], h["new_start"]) for h in span[0]["hunks"]] == [
        (int(a), int(c)) for a, _, c, _ in headers]  # fmt: skip


def test_working_tree_diff_and_status_follow_edits(
    world: tuple[DaemonProcess, dict[str, Any]],
) -> None:
    d, w = world
    root = w["worktree"]  # a linked worktree: its own index and HEAD
    d.call("workspace.open", {"root": str(root)})
    status = call(d, "git.status", {}, root)
    assert (status["kind"], status["branch"], status["files"]) == ("worktree", "feature", [])
    (root / "src" / "main.py").write_text("changed\n")
    (root / "new file.txt").write_text("new\n")
    git(root, "add", "new file.txt")
    (root / "untracked.txt").write_text("u\n")
    d.call("workspace.notify_changes", {"workspace": str(root),
                                        "paths": ["src/main.py", "new file.txt", "untracked.txt"]})  # fmt: skip
    status = call(d, "git.status", {}, root)
    porcelain = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all").split("\0")
    expected = {p[3:]: p[:2].replace(" ", ".") for p in porcelain if p}
    assert {f["path"]: f["index"] + f["worktree"] for f in status["files"]} == {
        k: v.replace("??", "??") for k, v in expected.items()}  # fmt: skip
    diff = call(d, "git.diff", {}, root)
    numstat = git(root, "diff", "--numstat", "HEAD").split("\n")
    assert {(f["path"], f["added"], f["removed"]) for f in diff["files"]} == {
        (line.split("\t")[2], int(line.split("\t")[0]), int(line.split("\t")[1]))
        for line in numstat if line}  # fmt: skip
    blame = call(d, "git.blame", {"path": "src/main.py"}, root)["lines"]
    assert [(b["commit"], b["text"]) for b in blame] == [("0" * 40, "changed")]


def line_commits(root: Path, *args: str) -> list[str]:
    """The commit of each line, from `git blame --line-porcelain` (parsed here on its own)."""
    out = git(root, "blame", "--line-porcelain", *args)
    return [m.group(1) for m in re.finditer(r"^([0-9a-f]{40}) \d+ \d+", out, re.M)]


def test_blame_matches_git(world: tuple[DaemonProcess, dict[str, Any]]) -> None:
    d, w = world
    root, ids = w["root"], w["ids"]
    whole = call(d, "git.blame", {"path": "src/main.py", "rev": "HEAD"}, root)
    assert [b["commit"] for b in whole["lines"]] == line_commits(root, "HEAD", "--", "src/main.py")
    assert [b["line"] for b in whole["lines"]] == list(range(1, 12))
    second = whole["lines"][1]
    assert (second["author"], second["time"], second["path"], second["summary"]) == (
        "Linus Torvalds", "2024-02-03T09:30:00-07:00", "src/app.py", "Edit lines 2 and 3")  # fmt: skip
    assert set(whole["commits"]) == {b["commit"] for b in whole["lines"]}  # each once
    # Compact: the same lines naming their commits, whose details are in `commits` once.
    compact = call(d, "git.blame", {"path": "src/main.py", "rev": "HEAD", "compact": True}, root)
    assert compact["commits"] == whole["commits"]
    keep = {"line", "commit", "original_line", "path", "text"}
    assert compact["lines"] == [{k: v for k, v in b.items() if k in keep} for b in whole["lines"]]
    about = compact["commits"][second["commit"]]
    assert {k: second[k] for k in about} == about
    assert whole["lines"][10]["commit"] == ids["rename"]
    part = call(d, "git.blame", {"path": "src/main.py", "rev": "HEAD", "start_line": 2,
                                 "end_line": 3}, root)  # fmt: skip
    assert [(b["line"], b["commit"]) for b in part["lines"]] == [(2, ids["edit"]), (3, ids["edit"])]
    assert list(part["commits"]) == [ids["edit"]]  # only the range's commits
    fresh = call(d, "git.blame", {"path": "src/main.py", "start_line": 10, "end_line": 11}, root)
    assert [b["commit"] for b in fresh["lines"]] == line_commits(
        root, "-L10,11", "--", "src/main.py"
    )
    old = call(d, "git.blame", {"path": "src/app.py", "rev": ids["first"]}, root)["lines"]
    assert {b["commit"] for b in old} == {ids["first"]}
    assert refused(d, "git.blame", {"path": "logo.png", "rev": "HEAD"}, root) == "UNSUPPORTED"
    assert refused(d, "git.blame", {"path": "src/app.py", "rev": "HEAD"}, root) == "NOT_FOUND"
    assert refused(d, "git.blame", {"path": "src/main.py", "start_line": 50}, root) in (
        "INVALID_PARAMS")  # fmt: skip
    assert refused(d, "git.blame", {"path": "src/main.py", "start_line": 3, "end_line": 2},
                   root) == "INVALID_PARAMS"  # fmt: skip


def test_file_history_follows_renames(world: tuple[DaemonProcess, dict[str, Any]]) -> None:
    d, w = world
    root, ids = w["root"], w["ids"]
    followed = call(d, "git.file_history", {"path": "src/main.py"}, root)["commits"]
    assert [c["hash"] for c in followed] == git(
        root, "log", "--follow", "--format=%H", "--", "src/main.py").split()  # fmt: skip
    assert [c["hash"] for c in followed] == [ids["rename"], ids["edit"], ids["first"]]
    assert followed[0]["files"][0]["old_path"] == "src/app.py"
    assert [f["path"] for f in followed[2]["files"]] == ["src/app.py"]
    plain = call(d, "git.file_history", {"path": "src/main.py", "follow": False}, root)
    assert [c["hash"] for c in plain["commits"]] == [ids["rename"]]


def test_matrix_matches_git(world: tuple[DaemonProcess, dict[str, Any]]) -> None:
    d, w = world
    root = w["root"]
    result = call(d, "git.matrix", {"limit": 4}, root)
    hashes = git(root, "log", "-4", "--format=%H").split()
    assert [c["hash"] for c in result["commits"]] == hashes
    files = git_files(root, "-4")
    expected: dict[str, set[tuple[int, str]]] = {}
    for index, sha in enumerate(hashes):
        for letter, _, path in files[sha]:
            expected.setdefault(path, set()).add((index, letter))
    assert {r["path"]: {(c["commit"], c["status"]) for c in r["cells"]}
            for r in result["files"]} == expected  # fmt: skip
    only = call(d, "git.matrix", {"limit": 4, "path_glob": "docs/*"}, root)["files"]
    assert [r["path"] for r in only] == ["docs/guide with space é.md"]


def test_shallow_bare_and_no_repository(world: tuple[DaemonProcess, dict[str, Any]]) -> None:
    d, w = world
    shallow, bare, plain = w["shallow"], w["bare"], w["plain"]
    for ws in (shallow, bare, plain):
        d.call("workspace.open", {"root": str(ws)})
    status = call(d, "git.status", {}, shallow)
    assert (status["shallow"], status["kind"]) == (True, "repository")
    log = call(d, "git.log", {"limit": 100}, shallow)["commits"]
    assert [c["hash"] for c in log] == git(shallow, "log", "--format=%H").split()
    assert len(log) == 2
    blame = call(d, "git.blame", {"path": "README.md", "rev": "HEAD"}, shallow)
    first = blame["lines"][0]
    assert first["boundary"] is True  # the history before the graft is not there
    assert blame["commits"][first["commit"]]["boundary"] is True
    assert call(d, "git.status", {}, bare)["kind"] == "bare"
    assert [c["hash"] for c in call(d, "git.log", {"limit": 100}, bare)["commits"]] == git(
        bare, "log", "--format=%H").split()  # fmt: skip
    assert refused(d, "git.diff", {}, bare) == "UNSUPPORTED"
    assert refused(d, "git.blame", {"path": "README.md"}, bare) == "UNSUPPORTED"
    for method in ("git.status", "git.log", "git.matrix"):
        assert refused(d, method, {}, plain) == "UNSUPPORTED"
    # made a repository later: looked for again (service.RETRY_S after the last look)
    git(plain, "init", "-q", "-b", "main")
    made = commit(plain, "Now a repository", ADA)
    deadline = time.monotonic() + 30
    while True:
        try:
            assert call(d, "git.status", {}, plain)["head"] == made
            break
        except RpcCallError as exc:
            assert exc.code_name == "UNSUPPORTED" and time.monotonic() < deadline
            time.sleep(0.2)


def test_option_injection_and_path_escape_refused(
    world: tuple[DaemonProcess, dict[str, Any]], tmp_path: Path
) -> None:
    d, w = world
    root = w["root"]
    target = tmp_path / "written"
    for rev in (f"--output={target}", "-p", "--all", "-"):
        assert refused(d, "git.show", {"rev": rev}, root) == "INVALID_PARAMS"
        assert refused(d, "git.log", {"rev": rev}, root) == "INVALID_PARAMS"
        assert refused(d, "git.blame", {"path": "README.md", "rev": rev}, root) == "INVALID_PARAMS"
        assert refused(d, "git.diff", {"base": rev}, root) == "INVALID_PARAMS"
    assert refused(d, "git.log", {"rev": f"HEAD..--output={target}"}, root) == "INVALID_PARAMS"
    assert refused(d, "git.show", {"rev": "HEAD --output=x"}, root) == "NOT_FOUND"
    assert refused(d, "git.show", {"rev": "no-such-branch"}, root) == "NOT_FOUND"
    assert not target.exists()
    (root / "out").symlink_to(tmp_path)
    for path in ("../outside", "/etc/passwd", "out/x", "src/../../x"):
        assert refused(d, "git.blame", {"path": path}, root) == "INVALID_PATH", path
        assert refused(d, "git.log", {"path": path}, root) == "INVALID_PATH", path
        assert refused(d, "git.file_history", {"path": path}, root) == "INVALID_PATH", path
    # pathspec magic in a path is taken literally: no file has that name
    assert call(d, "git.log", {"path": ":(glob)**"}, root)["commits"] == []
    assert refused(d, "git.log", {"cursor": "bm90IGEgY3Vyc29y"}, root) == "INVALID_PARAMS"
    assert refused(d, "git.log", {"author": "["}, root) == "INVALID_PARAMS"
    subprocess.run(["rm", str(root / "out")], check=True)


def test_blame_of_a_large_file_is_kept_across_a_restart(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "big.txt").write_text("".join(f"line {n}\n" for n in range(1500)))
    first = commit(root, "A large file", ADA)
    (root / "big.txt").write_text("changed\n" + "".join(f"line {n}\n" for n in range(1, 1500)))
    second = commit(root, "Its first line", LINUS)
    expected = line_commits(root, second, "--", "big.txt")
    db = tmp_path / "state" / "aegisd.db"

    def stored() -> list[tuple[str, str, int]]:
        with closing(sqlite3.connect(db)) as conn:
            return conn.execute("SELECT rev, path, used FROM git_blame").fetchall()

    d = start_daemon(tmp_path, "--root", str(root))
    try:
        lines = call(d, "git.blame", {"path": "big.txt", "rev": "HEAD"}, root)["lines"]
        assert [b["commit"] for b in lines] == expected and expected[:2] == [second, first]
        deadline = time.monotonic() + 20
        while not stored():  # written in a task after the answer
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        d.stop()
    [(rev, path, used_at)] = stored()
    assert (rev, path) == (second, "big.txt")
    d = start_daemon(tmp_path, "--root", str(root))
    try:
        again = call(d, "git.blame", {"path": "big.txt", "rev": second, "start_line": 1,
                                      "end_line": 2}, root)["lines"]  # fmt: skip
        assert [b["commit"] for b in again] == [second, first]
    finally:
        d.stop()
    [(_, _, used_again)] = stored()
    assert used_again > used_at  # read from the table, not blamed again


def test_submodule_checkout_and_its_superproject(
    world: tuple[DaemonProcess, dict[str, Any]], tmp_path: Path
) -> None:
    d, _ = world
    lib = tmp_path / "lib"
    lib.mkdir()
    git(lib, "init", "-q", "-b", "main")
    (lib / "lib.py").write_text("x = 1\n")
    commit(lib, "The library", ADA)
    top = tmp_path / "super"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    git(top, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "lib")
    added = commit(top, "Add the library", ADA)
    checkout = top / "lib"
    for ws in (top, checkout):
        d.call("workspace.open", {"root": str(ws)})
    status = call(d, "git.status", {}, checkout)
    assert (status["kind"], status["branch"], status["files"]) == ("submodule", "main", [])
    log = call(d, "git.log", {}, checkout)["commits"]
    assert [c["hash"] for c in log] == git(checkout, "log", "--format=%H").split()
    shown = call(d, "git.show", {"rev": added}, top)["commit"]["files"]
    assert [(f["path"], f["status"]) for f in shown] == [(".gitmodules", "A"), ("lib", "A")]
    (checkout / "lib.py").write_text("x = 2\n")
    commit(checkout, "Move the library on", LINUS)
    d.call("workspace.notify_changes", {"workspace": str(top), "paths": ["lib/lib.py"]})
    entries = call(d, "git.status", {}, top)["files"]
    porcelain = git(top, "status", "--porcelain=v2").split("\n")[0].split(" ")
    assert [(e["path"], e["index"] + e["worktree"]) for e in entries] == [("lib", porcelain[1])]


def test_reading_an_untrusted_repository_runs_nothing_its_config_names(
    world: tuple[DaemonProcess, dict[str, Any]], tmp_path: Path
) -> None:
    d, _ = world
    marker = tmp_path / "ran"
    script = tmp_path / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n")
    script.chmod(0o755)
    root = tmp_path / "clone"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / ".gitattributes").write_text("*.txt filter=evil diff=evil\n")
    (root / "a.txt").write_text("a\n")
    commit(root, "A file", ADA)
    for key, value in [("core.fsmonitor", str(script)), ("filter.evil.clean", str(script)),
                       ("filter.evil.smudge", str(script)), ("diff.evil.textconv", str(script)),
                       ("diff.external", str(script)), ("core.pager", str(script))]:  # fmt: skip
        git(root, "config", key, value)
    (root / "a.txt").write_text("changed\n")
    d.call("workspace.open", {"root": str(root)})
    listed = d.call("workspace.list")["workspaces"]
    assert [w["trusted"] for w in listed if w["root"] == str(root)] == [False]
    marker.unlink(missing_ok=True)
    assert [f["path"] for f in call(d, "git.status", {}, root)["files"]] == ["a.txt"]
    assert not marker.exists(), "git.status"
    assert [f["path"] for f in call(d, "git.diff", {}, root)["files"]] == ["a.txt"]
    assert not marker.exists(), "git.diff"
    call(d, "git.log", {"path": "a.txt"}, root)
    call(d, "git.blame", {"path": "a.txt"}, root)
    assert not marker.exists(), "git.log, git.blame"
    tree = d.call("index.tree", {"workspace": str(root)})
    assert tree["git"] is True
    assert not marker.exists(), "index.tree"  # git itself would have run it: next lines
    git(root, "status", "--porcelain")
    assert marker.exists()


def test_a_workspace_inside_a_repository_sees_its_own_part(
    world: tuple[DaemonProcess, dict[str, Any]],
) -> None:
    d, w = world
    root, ids = w["root"], w["ids"]
    src = root / "src"
    d.call("workspace.open", {"root": str(src)})
    log = call(d, "git.log", {"limit": 100}, src)["commits"]
    assert [c["hash"] for c in log] == git(root, "log", "--format=%H", "--", "src").split()
    rename = next(c for c in log if c["hash"] == ids["rename"])
    assert [(f["status"], f["old_path"], f["path"]) for f in rename["files"]] == [
        ("R", "app.py", "main.py")]  # fmt: skip
    history_ = call(d, "git.file_history", {"path": "main.py"}, src)["commits"]
    assert [c["hash"] for c in history_] == [ids["rename"], ids["edit"], ids["first"]]
    blame = call(d, "git.blame", {"path": "main.py", "rev": "HEAD", "start_line": 2,
                                  "end_line": 2}, src)["lines"]  # fmt: skip
    assert (blame[0]["commit"], blame[0]["path"]) == (ids["edit"], "app.py")
    (root / "README.md").write_text("outside the workspace\n")
    (src / "main.py").write_text("inside\n")
    d.call("workspace.notify_changes", {"workspace": str(src), "paths": ["main.py"]})
    assert [f["path"] for f in call(d, "git.status", {}, src)["files"]] == ["main.py"]
    assert [f["path"] for f in call(d, "git.diff", {}, src)["files"]] == ["main.py"]
    matrix = call(d, "git.matrix", {"limit": 10}, src)["files"]
    assert {r["path"] for r in matrix} <= {"main.py", "app.py"}
    git(root, "checkout", "--", "README.md", "src/main.py")
