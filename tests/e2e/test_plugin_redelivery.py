"""A plugin that fails to take in a batch is not left silently stale: the workspace says it is
degraded (and `pending`) and the files it missed are handed to it again until it takes them
in; then the workspace is sound again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.test_live import wait_fresh
from tests.e2e.test_watcher_faults import poll

FLAKY = {"AEGISD_PLUGINS__EXTRA": "aegisd_flaky_plugin"}


def _workspace(d: Any) -> dict[str, Any]:
    (ws,) = d.call("workspace.list")["workspaces"]
    return ws  # type: ignore[no-any-return]


def test_a_batch_a_plugin_failed_is_handed_to_it_again(daemon_factory: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.py").write_text("x = 1\n")
    d = daemon_factory("--root", str(project), env=FLAKY)
    wait_fresh(d)
    assert d.call("flaky.seen")["seen"] == {"a.py": "created"}
    assert _workspace(d)["degraded"] is None

    (project / "fail.trigger").write_text("")
    (project / "a.py").write_text("x = 2\n")
    ws = poll(
        lambda: (w := _workspace(d))["degraded"] and "aegisd_flaky_plugin" in w["degraded"] and w,
        what="the workspace degraded by the plugin's failure",
    )
    assert ws["pending"] is True
    assert d.call("daemon.health")["status"] == "degraded"
    # Handed over again while it keeps failing: the plugin's view is still the old one, and
    # the workspace keeps saying so.
    poll(lambda: "failed 2 files' changes again" in d.output() or "again (attempt 2)" in d.output(),
         what="a second attempt")  # fmt: skip
    assert d.call("flaky.seen")["seen"]["a.py"] == "created"
    assert _workspace(d)["pending"] is True

    (project / "fail.trigger").unlink()
    poll(lambda: not _workspace(d)["pending"], what="the plugin caught up")
    seen = d.call("flaky.seen")["seen"]
    assert seen["a.py"] == "modified"
    assert _workspace(d)["degraded"] is None
    assert d.call("daemon.health")["status"] == "ok"
