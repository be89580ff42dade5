"""The clone index's tables on a real SQLite file: rows and postings are written, looked up,
replaced and deleted together, and nothing read afterwards is stale."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aegisd_similarity import index as index_module
from aegisd_similarity import store
from aegisd_similarity.fingerprint import analyze_file
from aegisd_similarity.index import CloneIndex
from aegisd_similarity.postings import BUCKETS
from aegisd_similarity.store import Stored
from aegisd_similarity.tokens import tokenize_file

from tests.plugins.similarity.helpers import FIXTURES


@pytest.fixture
def index(tmp_path: Path) -> Iterator[CloneIndex]:
    with CloneIndex.local(tmp_path / "index.db", "ws") as made:
        yield made


def _analyzed(relative: str, digest: str = "") -> Stored:
    tokens, prints = analyze_file(relative, (FIXTURES / relative).read_bytes())
    return Stored(relative, digest or f"hash-of-{relative}", tokens, prints)


def _postings(index: CloneIndex) -> set[tuple[int, int, int]]:
    rows = index.db.read().execute(
        "SELECT hash, fid, pos FROM similarity_posting WHERE space = ?", (index.space,)
    )
    return set(rows)


def _staged(index: CloneIndex) -> set[tuple[int, int, int]]:
    rows = index.db.read().execute(
        "SELECT hash, fid, pos FROM similarity_posting_new WHERE space = ?", (index.space,)
    )
    return set(rows)


def test_postings_are_written_and_looked_up(index: CloneIndex) -> None:
    a = _analyzed("python/exact_a.py")
    index.apply([a, Stored("big.py", "hash-of-big", None, None)], [])
    fid = store.fid_of(index.db.read(), index.space, "python/exact_a.py")
    assert fid is not None
    assert a.fingerprints is not None
    expected = {(h, fid, p) for h, p in a.fingerprints.rows()}
    assert _postings(index) == set() and _staged(index) == expected  # merged before reads
    index.flush()
    assert _postings(index) == expected and _staged(index) == set()
    h, pos = a.fingerprints.rows()[0]
    assert fid << 32 | pos in store.lookup(index.db.read(), index.space, h, None)
    states = index.states(None, frozenset({"python"}))
    assert states["big.py"].indexed is False and states["python/exact_a.py"].usable
    assert (index.files_indexed, index.files_skipped) == (1, 1)


def test_a_changed_file_replaces_its_postings_under_a_new_id(index: CloneIndex) -> None:
    index.apply([_analyzed("python/exact_a.py")], [])
    conn = index.db.read()
    old = store.fid_of(conn, index.space, "python/exact_a.py")
    newer = tokenize_file("python/exact_a.py", b"def f(x):\n    return [x, x, x] * 3\n")
    index.add_file(newer)
    assert store.fid_of(conn, index.space, "python/exact_a.py") == old  # gathered, not stored
    index.flush()
    new = store.fid_of(conn, index.space, "python/exact_a.py")
    assert old is not None and new is not None and new > old  # ids never come back
    assert {fid for _, fid, _ in _postings(index)} <= {new}
    assert store.read_tokens(conn, [old], source=False) == {}
    assert index.get("python/exact_a.py") == newer  # not the old version, from any cache


def test_removed_files_lose_rows_postings_and_clones(index: CloneIndex) -> None:
    index.apply([_analyzed("python/exact_a.py"), _analyzed("python/exact_b.py")], [])
    assert index.clones() != []
    index.apply([], ["python/exact_b.py", "never/stored.py"])
    conn = index.db.read()
    assert index.files() == ["python/exact_a.py"]
    assert index.clones() == [] and index.hotspots() == []
    assert conn.execute("SELECT count(*) FROM similarity_clone").fetchone() == (0,)
    assert {fid for _, fid, _ in _postings(index)} == {
        store.fid_of(conn, index.space, "python/exact_a.py")
    }


def test_workspaces_do_not_see_each_other(tmp_path: Path) -> None:
    with CloneIndex.local(tmp_path / "index.db", "one") as one:
        one.apply([_analyzed("python/exact_a.py")], [])
        with CloneIndex.local(tmp_path / "index.db", "two") as two:
            two.apply([_analyzed("python/exact_b.py")], [])
            assert one.clones() == [] and two.clones() == []
            assert one.files() == ["python/exact_a.py"] and len(two) == 1


def test_the_kept_report_survives_a_reopen_only_when_whole(tmp_path: Path) -> None:
    with CloneIndex.local(tmp_path / "index.db", "ws") as first:
        first.apply([_analyzed("python/exact_a.py"), _analyzed("python/exact_b.py")], [])
        clones = first.clones()
        assert clones != []
    with CloneIndex.local(tmp_path / "index.db", "ws") as again:
        assert again.clones() == clones  # read back, not computed
        again.apply([_analyzed("python/renamed_a.py")], [])  # the report is out of date now
    with CloneIndex.local(tmp_path / "index.db", "ws") as third:
        # What was out of date went with the process: the report is made again, not trusted.
        conn = third.db.read()
        assert conn.execute("SELECT count(*) FROM similarity_clone").fetchone() == (0,)
        with CloneIndex.local(tmp_path / "fresh.db", "ws") as fresh:
            for path in third.files():
                tokens = third.get(path)
                assert tokens is not None
                fresh.add_file(tokens)
            assert third.clones() == fresh.clones()


def test_postings_replaced_or_removed_before_a_merge_leave_nothing(index: CloneIndex) -> None:
    index.apply([_analyzed("python/exact_a.py"), _analyzed("python/exact_b.py")], [])
    index.apply([Stored("python/exact_a.py", "other", *analyze_file("x.py", b"x = 1\n" * 40))], [])
    index.apply([], ["python/exact_b.py"])
    fid = store.fid_of(index.db.read(), index.space, "python/exact_a.py")
    assert {f for _, f, _ in _staged(index)} == {fid}
    index.flush()
    assert {f for _, f, _ in _postings(index)} == {fid} and _staged(index) == set()


def test_postings_left_staged_by_a_process_are_merged_by_the_next(tmp_path: Path) -> None:
    with CloneIndex.local(tmp_path / "index.db", "ws") as first:
        first.apply([_analyzed("python/exact_a.py"), _analyzed("python/exact_b.py")], [])
        assert _staged(first) and not _postings(first)
    with CloneIndex.local(tmp_path / "index.db", "ws") as again:
        found = again.check(_analyzed("python/exact_a.py").tokens or "")
        assert [c.a.path for c in found] == ["python/exact_b.py"]
        assert not _staged(again)


def test_many_staged_postings_merge_in_several_transactions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [
        _analyzed(p) for p in ("python/exact_a.py", "python/exact_b.py", "python/renamed_a.py")
    ]
    writes: list[int] = []
    with CloneIndex.local(tmp_path / "one.db", "ws") as whole:
        whole.apply(files, [])
        expected = whole.clones()
    with CloneIndex.local(tmp_path / "parts.db", "ws") as parts:
        parts.apply(files, [])
        monkeypatch.setattr(index_module, "MERGE_ROWS", 1)
        write = parts.db.write
        monkeypatch.setattr(parts.db, "write", lambda job: writes.append(1) or write(job))
        parts.flush()
        assert len(writes) == BUCKETS  # one bucket each
        assert _staged(parts) == set() and parts.clones() == expected != []


def test_opening_writes_nothing_until_a_file_is_stored(tmp_path: Path) -> None:
    with CloneIndex.local(tmp_path / "index.db", "ws") as index:
        spaces = "SELECT count(*) FROM similarity_space"
        assert index.db.read().execute(spaces).fetchone() == (0,)
        assert (index.files(), index.clones(), index.check("x = 1\n" * 40)) == ([], [], [])
        index.apply([_analyzed("python/exact_a.py")], [])
        assert index.db.read().execute(spaces).fetchone() == (1,)
        assert index.files() == ["python/exact_a.py"]
