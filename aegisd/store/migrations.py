"""Numbered migrations per plugin, run at startup, each in a transaction and recorded.

A migration is plain SQL (or a function of the database) so that a database written by any
older version upgrades in place, step by step, without depending on today's models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import peewee
from loguru import logger

MIGRATIONS_TABLE = "aegisd_migrations"


@dataclass(frozen=True)
class Migration:
    """One schema step of one plugin. `apply` is SQL statements or a function of the database."""

    plugin: str
    number: int
    name: str
    apply: Sequence[str] | Callable[[peewee.SqliteDatabase], None]


class MigrationError(Exception):
    """A migration failed; its transaction was rolled back."""

    def __init__(self, migration: Migration, cause: Exception) -> None:
        self.migration = migration
        super().__init__(
            f"migration {migration.plugin}#{migration.number} ({migration.name}) failed: {cause}"
        )


def ensure_table(db: peewee.SqliteDatabase) -> None:
    db.execute_sql(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
        " plugin TEXT NOT NULL, number INTEGER NOT NULL, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL, PRIMARY KEY (plugin, number))"
    )


def applied(db: peewee.SqliteDatabase) -> set[tuple[str, int]]:
    ensure_table(db)
    rows = db.execute_sql(f"SELECT plugin, number FROM {MIGRATIONS_TABLE}").fetchall()
    return {(plugin, number) for plugin, number in rows}


def run_migrations(
    db: peewee.SqliteDatabase, migrations: Iterable[Migration]
) -> tuple[list[Migration], dict[str, MigrationError]]:
    """Apply the migrations not yet recorded, in order per plugin. Runs on the DB thread.

    A failing migration rolls back alone and stops only its own plugin's later steps; the
    failures come back by plugin so the host can block exactly those plugins.
    """
    done = applied(db)
    ran: list[Migration] = []
    failed: dict[str, MigrationError] = {}
    for migration in sorted(migrations, key=lambda m: (m.plugin, m.number)):
        if (migration.plugin, migration.number) in done or migration.plugin in failed:
            continue
        try:
            _apply_one(db, migration)
        except Exception as exc:
            failed[migration.plugin] = MigrationError(migration, exc)
            logger.error("{}", failed[migration.plugin])
            continue
        logger.info(
            "applied migration {}#{} {}", migration.plugin, migration.number, migration.name
        )
        ran.append(migration)
    return ran, failed


def _apply_one(db: peewee.SqliteDatabase, migration: Migration) -> None:
    with db.atomic():
        if callable(migration.apply):
            migration.apply(db)
        else:
            for statement in migration.apply:
                db.execute_sql(statement)
        db.execute_sql(
            f"INSERT INTO {MIGRATIONS_TABLE} (plugin, number, name, applied_at) VALUES (?, ?, ?, ?)",
            (migration.plugin, migration.number, migration.name, _now()),
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
