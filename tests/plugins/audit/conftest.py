from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest
from aegisd_audit import store

from aegisd.store.database import PRAGMAS
from aegisd.store.migrations import run_migrations


@pytest.fixture
def db(tmp_path: Path) -> Iterator[peewee.SqliteDatabase]:
    """A real SQLite file with the audit tables, as the daemon configures it."""
    database = peewee.SqliteDatabase(str(tmp_path / "audit.db"), pragmas=PRAGMAS)
    database.connect()
    ran, failed = run_migrations(database, store.MIGRATIONS)
    assert not failed and len(ran) == len(store.MIGRATIONS)
    yield database
    database.close()
