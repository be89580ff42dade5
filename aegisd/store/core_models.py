"""The core's own tables: workspaces and their settings overrides, and its migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import peewee

from aegisd.store.migrations import Migration
from aegisd.store.pathtext import PathField

CORE = "aegisd"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class WorkspaceRow(peewee.Model):
    id = peewee.TextField(primary_key=True)
    root = PathField(unique=True)
    created_at = peewee.TextField()
    clock = peewee.IntegerField(default=0)
    last_opened_at = peewee.TextField(null=True)

    class Meta:
        table_name = "workspace"


class WorkspaceSettingsRow(peewee.Model):
    workspace = peewee.ForeignKeyField(WorkspaceRow, primary_key=True, on_delete="CASCADE")
    data = peewee.TextField()
    updated_at = peewee.TextField()

    class Meta:
        table_name = "workspace_settings"


class FileStateRow(peewee.Model):
    """What the daemon last saw of each workspace file, for reconciliation after a restart.

    A skipped file (see `filestate`) has `skip_kind` and `skip_reason` and no hash."""

    workspace = peewee.ForeignKeyField(WorkspaceRow, on_delete="CASCADE")
    path = PathField()
    size = peewee.IntegerField()
    mtime_ns = peewee.IntegerField()
    hash = peewee.TextField(null=True)
    skip_kind = peewee.TextField(null=True)
    skip_reason = peewee.TextField(null=True)

    class Meta:
        table_name = "file_state"
        primary_key = peewee.CompositeKey("workspace", "path")


class TrustDecisionRow(peewee.Model):
    """The user's decision to trust (or not) a root and everything under it (see `aegisd.trust`).
    Keyed by path, not workspace: a root may be trusted before it is ever opened."""

    root = peewee.TextField(primary_key=True)
    trusted = peewee.BooleanField()
    decided_at = peewee.TextField()

    class Meta:
        table_name = "trust_decision"


MODELS: list[type[peewee.Model]] = [
    WorkspaceRow,
    WorkspaceSettingsRow,
    FileStateRow,
    TrustDecisionRow,
]

MIGRATIONS = [
    Migration(
        CORE,
        1,
        "workspaces and settings",
        [
            "CREATE TABLE workspace (id TEXT PRIMARY KEY, root TEXT NOT NULL UNIQUE,"
            " created_at TEXT NOT NULL)",
            "CREATE TABLE workspace_settings (workspace_id TEXT PRIMARY KEY"
            " REFERENCES workspace(id) ON DELETE CASCADE, data TEXT NOT NULL,"
            " updated_at TEXT NOT NULL)",
        ],
    ),
    Migration(
        CORE,
        2,
        "change clock and file state",
        [
            "ALTER TABLE workspace ADD COLUMN clock INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE workspace ADD COLUMN last_opened_at TEXT",
            "CREATE TABLE file_state (workspace_id TEXT NOT NULL REFERENCES workspace(id)"
            " ON DELETE CASCADE, path TEXT NOT NULL, size INTEGER NOT NULL,"
            " mtime_ns INTEGER NOT NULL, hash TEXT, PRIMARY KEY (workspace_id, path))",
        ],
    ),
    Migration(
        CORE,
        3,
        "skipped files",
        [
            "ALTER TABLE file_state ADD COLUMN skip_kind TEXT",
            "ALTER TABLE file_state ADD COLUMN skip_reason TEXT",
            # Every file is read once more at the next start, without reporting a change, so
            # that files known before skipping existed (binary ones, say) are judged too.
            "UPDATE file_state SET hash = NULL",
        ],
    ),
    Migration(
        CORE,
        4,
        "workspace trust",
        [
            "CREATE TABLE trust_decision (root TEXT PRIMARY KEY, trusted INTEGER NOT NULL,"
            " decided_at TEXT NOT NULL)",
        ],
    ),
]
