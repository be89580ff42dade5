"""git.changed and invalidation through a real daemon: a commit, a checkout of many files, a
reset and a rebase each push one settled `git.changed`, and answers follow HEAD at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wsclient import WsClient

from tests.conftest import start_daemon
from tests.plugins.git.repos import ADA, KEN, commit, git, history


async def changed(ws: WsClient) -> dict[str, Any]:
    return await ws.next("git.changed")


async def moved_to(ws: WsClient, head: str) -> dict[str, Any]:
    """The notification saying HEAD is at `head`. A `git add` then `git commit` are two
    moves (the index, then HEAD): the first may have its own notification."""
    while (note := await changed(ws))["head"] != head:
        pass
    return note


async def test_commit_checkout_reset_rebase_push_one_change_each(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    ids = history(root)
    # a branch whose checkout rewrites hundreds of files: still one notification
    git(root, "checkout", "-q", "-b", "wide")
    (root / "many").mkdir()
    for n in range(400):
        (root / "many" / f"f{n}.txt").write_text(f"{n}\n")
    wide = commit(root, "Many files", KEN)
    git(root, "checkout", "-q", "main")
    d = start_daemon(tmp_path, "--root", str(root))
    try:
        async with WsClient(d.socket) as ws:
            await ws.call("events.subscribe", {"topics": ["git.changed"]})
            assert (await ws.call("git.status"))["head"] == ids["binary"]
            log = await ws.call("git.log", {"limit": 1})
            assert log["commits"][0]["hash"] == ids["binary"]

            (root / "README.md").write_text("# changed\n")
            made = commit(root, "Commit while watched", ADA)
            note = await moved_to(ws, made)
            assert (note["head"], note["branch"]) == (made, "main")
            assert (await ws.call("git.log", {"limit": 1}))["commits"][0]["hash"] == made
            assert (await ws.call("git.status"))["head"] == made

            git(root, "checkout", "-q", "wide")
            first = await changed(ws)
            assert (first["head"], first["branch"]) == (wide, "wide")
            # the next move, a sentinel that touches no index: only the branch moves
            git(root, "update-ref", "refs/heads/wide", made)
            second = await changed(ws)
            # the checkout of 400 files was one notification: the next is the sentinel's
            assert (second["head"], second["branch"]) == (made, "wide")
            status = await ws.call("git.status")
            assert (status["branch"], status["head"]) == ("wide", made)

            git(root, "reset", "-q", "--hard", wide)
            note = await moved_to(ws, wide)
            assert (await ws.call("git.log", {"limit": 1}))["commits"][0]["hash"] == wide
            history_before = await ws.call("git.file_history", {"path": "README.md"})

            git(root, "rebase", "-q", "main", who=KEN)
            rebased = git(root, "rev-parse", "HEAD").strip()
            note = await moved_to(ws, rebased)
            assert note["branch"] == "wide" and rebased != wide
            after = await ws.call("git.file_history", {"path": "README.md"})
            assert [c["hash"] for c in after["commits"]] == git(
                root, "log", "--follow", "--format=%H", "--", "README.md").split()  # fmt: skip
            assert after["commits"] != history_before["commits"]
            # a commit id's answers stayed right (and cached): the merge is the merge
            shown = await ws.call("git.show", {"rev": ids["merge"]})
            assert shown["commit"]["subject"] == "Merge side"
    finally:
        d.stop()
