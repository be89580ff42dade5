from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest
from aegisd_codemap import store
from aegisd_codemap.model import FileExtract

from aegisd.store.migrations import run_migrations
from tests.plugins.codemap.helpers import extract_project


@pytest.fixture(scope="session")
def pyproj() -> dict[str, FileExtract]:
    return extract_project("pyproj")


@pytest.fixture(scope="session")
def jsproj() -> dict[str, FileExtract]:
    return extract_project("jsproj")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[peewee.SqliteDatabase]:
    """A code map database with every migration run, in WAL mode as the daemon's."""
    database = peewee.SqliteDatabase(str(tmp_path / "codemap.db"), pragmas={"journal_mode": "wal"})
    database.connect()
    _, failed = run_migrations(database, store.MIGRATIONS)
    assert not failed
    yield database
    database.close()
