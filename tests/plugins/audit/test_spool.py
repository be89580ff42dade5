import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from aegisd_audit.spool import SPOOL_FILENAME, SpoolEntry, SpoolReader, SpoolWriter

ROOT = Path(__file__).resolve().parents[3]
WRITERS = 6
PER_WRITER = 40
# Each entry is far over PIPE_BUF (4 KiB), so unlocked appends could interleave.
WRITER = """
import sys
from pathlib import Path
from aegisd_audit.spool import SpoolWriter
writer = SpoolWriter(Path(sys.argv[1]))
for seq in range(int(sys.argv[3])):
    writer.append({"writer": int(sys.argv[2]), "seq": seq, "blob": "x" * 20000})
"""


def _start_writers(spool: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    return [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(spool), str(w), str(PER_WRITER)], env=env
        )
        for w in range(WRITERS)
    ]


def _check_all_written_once(entries: list[SpoolEntry]) -> None:
    assert len(entries) == WRITERS * PER_WRITER
    assert len({e.id for e in entries}) == len(entries)
    for w in range(WRITERS):
        seqs = [e.payload["seq"] for e in entries if e.payload["writer"] == w]
        assert seqs == list(range(PER_WRITER))  # every entry, in each writer's order
    assert all(e.payload["blob"] == "x" * 20000 for e in entries)


def test_append_then_read_in_order(tmp_path: Path) -> None:
    spool = tmp_path / "state" / SPOOL_FILENAME
    ids = [SpoolWriter(spool).append({"n": n}) for n in range(3)]
    assert stat.S_IMODE(spool.stat().st_mode) == 0o600
    reader = SpoolReader(spool)
    entries = reader.read_pending()
    assert [(e.id, e.payload) for e in entries] == list(
        zip(ids, [{"n": 0}, {"n": 1}, {"n": 2}], strict=True)
    )
    assert all(e.at.endswith("+00:00") for e in entries)
    assert reader.skipped == 0


def test_concurrent_writers_lose_and_tear_nothing(tmp_path: Path) -> None:
    spool = tmp_path / SPOOL_FILENAME
    for writer in _start_writers(spool):
        assert writer.wait(timeout=60) == 0
    reader = SpoolReader(spool)
    _check_all_written_once(reader.read_pending())
    assert reader.skipped == 0


def test_claims_while_writers_append_lose_nothing(tmp_path: Path) -> None:
    spool = tmp_path / SPOOL_FILENAME
    writers = _start_writers(spool)
    reader = SpoolReader(spool)
    seen: dict[str, SpoolEntry] = {}
    while any(w.poll() is None for w in writers):
        for entry in reader.read_pending():
            seen[entry.id] = entry
        reader.finish()
    for writer in writers:
        assert writer.wait() == 0
    for entry in reader.read_pending():
        seen[entry.id] = entry
    reader.finish()
    _check_all_written_once(list(seen.values()))  # in the order the claims read them
    assert list(tmp_path.iterdir()) == []


def test_a_torn_line_is_skipped_and_does_not_spoil_the_next(tmp_path: Path) -> None:
    spool = tmp_path / SPOOL_FILENAME
    SpoolWriter(spool).append({"n": 1})
    with spool.open("ab") as f:
        f.write(b'{"id": "dead", "at": "2025-01-01", "payl')  # a writer killed mid-line
    SpoolWriter(spool).append({"n": 2})
    reader = SpoolReader(spool)
    assert [e.payload for e in reader.read_pending()] == [{"n": 1}, {"n": 2}]
    assert reader.skipped == 1


def test_no_spool_means_nothing_pending(tmp_path: Path) -> None:
    reader = SpoolReader(tmp_path / SPOOL_FILENAME)
    assert reader.read_pending() == []
    reader.finish()


class Daemon:
    """Replays the spool the way the daemon must: effect and entry id in one transaction."""

    def __init__(self, db: Path) -> None:
        self.db = sqlite3.connect(db)
        self.db.execute("CREATE TABLE IF NOT EXISTS events (n INTEGER)")
        self.db.execute("CREATE TABLE IF NOT EXISTS replayed (id TEXT PRIMARY KEY)")

    def replay(self, spool: Path, crash_after: int | None = None) -> None:
        reader = SpoolReader(spool)
        for applied, entry in enumerate(reader.read_pending()):
            if applied == crash_after:
                return  # crashed: no finish(), files stay claimed
            with self.db:
                if self.db.execute("SELECT 1 FROM replayed WHERE id = ?", (entry.id,)).fetchone():
                    continue
                self.db.execute("INSERT INTO events VALUES (?)", (entry.payload["n"],))
                self.db.execute("INSERT INTO replayed VALUES (?)", (entry.id,))
        reader.finish()
        with self.db:
            self.db.execute("DELETE FROM replayed")

    def events(self) -> list[Any]:
        return [n for (n,) in self.db.execute("SELECT n FROM events ORDER BY rowid")]

    def close(self) -> None:
        self.db.close()


def test_replay_is_exactly_once_across_a_crash(tmp_path: Path) -> None:
    spool = tmp_path / SPOOL_FILENAME
    writer = SpoolWriter(spool)
    for n in range(5):
        writer.append({"n": n})
    first = Daemon(tmp_path / "aegisd.db")
    first.replay(spool, crash_after=3)
    first.close()
    for n in range(5, 8):  # hooks keep spooling while the daemon is down again
        writer.append({"n": n})
    second = Daemon(tmp_path / "aegisd.db")
    second.replay(spool)
    assert second.events() == list(range(8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aegisd.db"]
    second.replay(spool)  # nothing left: a later start replays nothing
    assert second.events() == list(range(8))
    second.close()
