"""The git plugin's caches in a daemon in this process: a move of HEAD drops only what
depended on it; a file change drops only that file's working-tree answers and the status."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aegisd_git import service

from aegisd.daemon import Daemon
from tests.plugins.git.repos import ADA, commit, history


async def moved(svc: service.GitService, ws_id: str, head: str) -> None:
    """Until the plugin has seen HEAD at `head` (after `git add`, the index moved first)."""
    async with asyncio.timeout(20):
        while svc.workspaces[ws_id].head != head or svc.workspaces[ws_id].changes == 0:
            await asyncio.sleep(0.02)


async def test_head_move_drops_live_entries_only(app_daemon: Daemon, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    ids = history(root)
    ws, _ = await app_daemon.workspaces.open(root)
    svc = service.get(app_daemon)
    call = app_daemon.dispatcher.call
    await call("git.show", {"rev": ids["merge"]})
    await call("git.blame", {"path": "src/main.py", "rev": ids["rename"]})
    await call("git.blame", {"path": "src/main.py"})
    await call("git.status")
    repo = svc.workspaces[ws.id].repo
    assert repo is not None
    by_id = [(str(repo.common_dir), "")]
    show_key = (*by_id, "show", ids["merge"])
    blame_key = (*by_id, "blame", "src/main.py", ids["rename"], None, None)
    worktree_blame = (ws.id, "blame", "src/main.py", None, None)
    status_key = (ws.id, "status", "")
    assert all(k in svc.history for k in (show_key, blame_key))
    assert all(k in svc.live for k in (worktree_blame, status_key))

    (root / "README.md").write_text("# moved\n")
    await moved(svc, ws.id, commit(root, "Move HEAD", ADA))
    assert len(svc.live) == 0  # HEAD, the index: everything live depended on them
    assert all(k in svc.history for k in (show_key, blame_key))  # commit ids do not move

    await call("git.blame", {"path": "src/main.py"})
    await call("git.blame", {"path": "README.md"})
    await call("git.status")
    (root / "README.md").write_text("# edited, not committed\n")
    await call("workspace.notify_changes", {"paths": ["README.md"]})
    assert status_key not in svc.live
    assert (ws.id, "blame", "README.md", None, None) not in svc.live
    assert worktree_blame in svc.live  # another file's blame stays
