"""IndexDb: closing the index from one thread never closes a connection another thread is
reading with (that crashes the process), and leaves none open."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from aegisd_similarity.db import local_db


def test_close_waits_for_a_reader_inside_its_block(tmp_path: Path) -> None:
    db, close = local_db(tmp_path / "index.db")
    inside, go_on = threading.Event(), threading.Event()
    seen: list[object] = []

    def reader() -> None:
        with db.reading() as conn:
            inside.set()
            go_on.wait(10)
            seen.append(conn.execute("SELECT count(*) FROM similarity_doc").fetchone())
        with pytest.raises(sqlite3.ProgrammingError):  # closed now, with the block's end
            conn.execute("SELECT 1")

    idle = db.read()  # this thread's, read outside a block: closed at once
    thread = threading.Thread(target=reader)
    thread.start()
    assert inside.wait(10)
    close()
    with pytest.raises(sqlite3.ProgrammingError):
        idle.execute("SELECT 1")
    go_on.set()
    thread.join(10)
    assert seen == [(0,)]
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        db.read()


def test_nested_blocks_share_one_connection(tmp_path: Path) -> None:
    db, close = local_db(tmp_path / "index.db")
    with db.reading() as outer, db.reading() as inner:
        assert outer is inner is db.read()
    close()
