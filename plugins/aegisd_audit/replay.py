"""Replaying the agent hook's spool when the daemon starts: each payload exactly once.

The protocol is `spool`'s: claim and read the spooled entries, apply each one in its own
transaction together with the record of its id (so an entry already applied is skipped, even
after a crash mid-replay), delete the claimed files, and only then forget the recorded ids.
An entry is turned into a run and an event exactly as the hook would have made them live
(`hookbridge.payload_to_actions`), timed when the hook spooled it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import peewee
from loguru import logger

from aegisd.store.faults import database_failed
from aegisd_audit import store
from aegisd_audit.hookbridge import END_RUN, LOG_EVENT, START_RUN, payload_to_actions
from aegisd_audit.service import iso, new_event, new_run
from aegisd_audit.spool import SPOOL_FILENAME, SpoolEntry, SpoolReader

if TYPE_CHECKING:
    from aegisd.daemon import Daemon


@dataclass(frozen=True)
class Planned:
    """What one spool entry does: ensure `run`, log `event` in it, maybe end it."""

    entry_id: str
    run: store.NewRun
    event: store.NewEvent
    end: bool


def plan(entry: SpoolEntry) -> Planned:
    """The writes of one entry (ValueError for a payload the hook would not have sent)."""
    calls = {action.method: action.params for action in payload_to_actions(entry.payload)}
    run, event = calls[START_RUN], calls[LOG_EVENT]
    root = run.get("workspace")
    at = iso(datetime.fromisoformat(entry.at))
    run_fields = new_run(
        name=run["name"],
        actor="agent",
        workspace_id=None,  # workspaces are adopted by the runs when they open
        root=root if isinstance(root, str) else None,
        external_id=run["external_id"],
        notes=None,
        capture=True,
        created_at=at,
    )
    fields = {k: v for k, v in event.items() if k in ("detail", "payload", "phase", "ref")}
    prepared = new_event(
        event["type"],
        event["title"],
        actor=event.get("actor", "agent"),
        status=event.get("status", "ok"),
        created_at=at,
        **fields,
    )
    return Planned(entry.id, run_fields, prepared, END_RUN in calls)


def apply(db: peewee.SqliteDatabase, planned: list[Planned]) -> int:
    """Apply the entries not yet applied, each in its own transaction with its id; returns how
    many were applied. Runs on the DB thread. The database failing stops the replay (the
    store's policy retries it; applied entries are skipped by id): the spool is then kept."""
    applied = 0
    for entry in planned:
        try:
            with db.atomic():
                if store.spool_done(db, entry.entry_id):
                    continue
                run, _ = store.start_run(db, entry.run)
                store.insert_event(db, run["id"], entry.event)
                if entry.end:
                    store.end_run(db, run["id"], "closed", None)
                store.mark_spool_done(db, entry.entry_id)
            applied += 1
        except Exception as exc:
            if database_failed(exc):
                raise
            logger.opt(exception=True).error("audit: spooled entry {} not replayed", entry.entry_id)
    return applied


async def replay_spool(daemon: Daemon) -> int:
    """Replay the hook spool in the state dir; returns how many entries were applied."""
    reader = SpoolReader(daemon.config.data_path / SPOOL_FILENAME)
    entries = await asyncio.to_thread(reader.read_pending)
    planned: list[Planned] = []
    for entry in entries:
        try:
            planned.append(plan(entry))
        except Exception as exc:  # a payload the hook would not have sent: skip, do not block
            logger.warning("audit: spooled entry {} skipped: {!r}", entry.id, exc)
    applied = await daemon.store.run(apply, daemon.store.db, planned) if planned else 0
    await asyncio.to_thread(reader.finish)
    await daemon.store.run(store.forget_spool_ids, daemon.store.db)
    if entries or reader.skipped:
        logger.info(
            "audit: replayed {} of {} spooled hook payloads ({} unreadable lines)",
            applied, len(entries), reader.skipped,
        )  # fmt: skip
    return applied
