"""The commits made while a run was open, when a git plugin is active, for `audit.diff`.

Like `lintlink`, the audit plugin does not depend on the git plugin: it looks for `git.log`
in the daemon's registry (DESIGN.md's contract) and reads the commits of HEAD's history
committed between the run's start and its end (or now).
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loguru import logger

from aegisd.rpc.errors import RpcError

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.workspace import Workspace

LOG_METHOD = "git.log"
MAX_COMMITS = 200
WAIT_S = 5.0


def _bounds(run: dict[str, Any]) -> dict[str, str]:
    """The run's span in whole seconds (git's commit times have no fractions), widened."""
    start = datetime.fromisoformat(run["created_at"]).timestamp()
    bounds = {"since": datetime.fromtimestamp(math.floor(start), UTC).isoformat()}
    if run.get("closed_at"):
        end = datetime.fromisoformat(run["closed_at"]).timestamp()
        bounds["until"] = datetime.fromtimestamp(math.ceil(end), UTC).isoformat()
    return bounds


async def commits_during(daemon: Daemon, ws: Workspace, run: dict[str, Any]) -> list[Any] | None:
    """hash, short, subject and files of each commit made while `run` was open, newest first;
    None without a git plugin or a repository."""
    if daemon.registry.get(LOG_METHOD) is None:
        return None
    params = {"workspace": ws.id, "limit": MAX_COMMITS, **_bounds(run)}
    try:
        result = await asyncio.wait_for(daemon.dispatcher.call(LOG_METHOD, params), WAIT_S)
    except (RpcError, TimeoutError) as exc:
        logger.debug("audit: no commits for {}: {!r}", ws.id, exc)
        return None
    return [
        {"hash": c["hash"], "short": c["short"], "subject": c["subject"],
         "files": [f["path"] for f in c["files"]]}
        for c in result["commits"]
    ]  # fmt: skip
