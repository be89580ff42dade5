"""`files.changed`: each settled batch, pushed to the subscribers that want it.

A first index's batch names every file of the workspace (50k in a monorepo): building and
encoding its message took ~80 ms, so a large one is made in a thread; a small one (an edit)
on the loop, where a thread hand-over would cost more than the work.
"""

from __future__ import annotations

from aegisd.events import EventHub, notification
from aegisd.threads import interactive
from aegisd.workspace import ChangeBatch

#: a batch with more changes than this has its message made in a thread
LARGE_BATCH = 1_000


async def publish_files_changed(events: EventHub, ws_id: str, batch: ChangeBatch) -> None:
    """Push `batch` as `files.changed` to whoever subscribed (nothing is made otherwise)."""
    if not events.interested("files.changed", ws_id):
        return
    clock = batch.clock
    if len(batch.changes) <= LARGE_BATCH:
        events.publish("files.changed", files_changed(ws_id, batch), workspace=ws_id, clock=clock)
        return
    message = await interactive(lambda: notification("files.changed", files_changed(ws_id, batch)))
    events.publish_encoded("files.changed", message, workspace=ws_id, clock=clock)


def files_changed(ws_id: str, batch: ChangeBatch) -> dict[str, object]:
    """The params of a batch's `files.changed` notification."""
    params: dict[str, object] = {
        "workspace": ws_id,
        "clock": batch.clock,
        "source": batch.source,
        "changes": [{"path": p, "kind": k} for p, k in batch.changes.items()],
    }
    if batch.skipped:
        params["skipped"] = [
            {"path": p, "kind": c.change, "reason": c.reason} for p, c in batch.skipped.items()
        ]
    return params
