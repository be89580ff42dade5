"""The table of stored blames: a round trip keeps every field (names that are not UTF-8 too),
and the least recently used rows go beyond the limit."""

from __future__ import annotations

import zlib
from pathlib import Path

import peewee
from aegisd_git import store

from aegisd.store.migrations import run_migrations

LINE = {"lines": [{"line": 1, "commit": "a" * 40, "original_line": 1, "path": "caf\udce9.py",
                   "text": "x = '\udcff'"}],
        "commits": {"a" * 40: {"author": "Ada", "author_email": "ada@example.com",
                               "time": "2024-01-02T10:00:00+00:00", "summary": "s",
                               "boundary": False}}}  # fmt: skip


def test_round_trip_and_least_recently_used_go(tmp_path: Path) -> None:
    db = peewee.SqliteDatabase(str(tmp_path / "t.db"))
    try:
        run_migrations(db, store.MIGRATIONS)
        store.save_blame(db, "/r/.git", "", "a" * 40, "caf\udce9.py", LINE, max_rows=2)
        assert store.load_blame(db, "/r/.git", "", "a" * 40, "caf\udce9.py") == LINE
        assert store.load_blame(db, "/r/.git", "sub/", "a" * 40, "caf\udce9.py") is None
        store.save_blame(db, "/r/.git", "", "b" * 40, "x.py", LINE, max_rows=2)
        store.load_blame(db, "/r/.git", "", "a" * 40, "caf\udce9.py")  # used again: kept
        store.save_blame(db, "/r/.git", "", "c" * 40, "y.py", LINE, max_rows=2)
        revs = {row[0] for row in db.execute_sql("SELECT rev FROM git_blame").fetchall()}
        assert revs == {"a" * 40, "c" * 40}
        # A row of an older form (a list of lines) is not an answer: blamed again.
        db.execute_sql("UPDATE git_blame SET lines = ?", (zlib.compress(b"[]"),))
        assert store.load_blame(db, "/r/.git", "", "c" * 40, "y.py") is None
    finally:
        db.close()  # an unclosed connection fails a later test on 3.13 (ResourceWarning)
