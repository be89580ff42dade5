"""`CloneIndex`: a workspace's clone index, on disk.

Files' tokens, fingerprints and postings are rows (`store`); so is the kept report, the clones of
every file pair for the parameters last asked for, and each file's duplicated lines. Memory holds
the hot sets only (`hot`: tokens and lines of files used lately) and what is out of date in the
kept report: files added since (`dirty`), pairs whose seeds changed as a fingerprint crossed the
boilerplate cap (`stale`) and files whose duplicated lines may have changed (`respot`). The
report is brought up to date in batches of files (`BATCH`), each batch's seeds, tokens and
clones let go before the next, so memory stays bounded whatever the size of the workspace; its
pairs are matched by a `Matcher` (here, or in the process pool).

Not thread-safe: one owner at a time (the service holds a lock around every use).
"""

from __future__ import annotations

import functools
import shutil
import sqlite3
import tempfile
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from aegisd.threads import step_aside
from aegisd_similarity import kept, postings, store
from aegisd_similarity.db import IndexDb, local_db
from aegisd_similarity.fingerprint import DEFAULT_K, DEFAULT_WINDOW, Fingerprints, fingerprint
from aegisd_similarity.found import Found, clones_of, covered_lines, match_rows, order
from aegisd_similarity.hot import Cache, LocalCache, lines_size, tokens_size
from aegisd_similarity.match import BIAS, CloneParams, files_of, match_pair
from aegisd_similarity.models import Clone, Hotspot, Summary
from aegisd_similarity.postings import BUCKETS, MERGE_ROWS
from aegisd_similarity.seeds import Seeds, SharedPostings, seeds_between, seeds_of
from aegisd_similarity.store import CloneRow, DocState, Stored
from aegisd_similarity.tokens import FileTokens, tokenize_file, valid_lexers

__all__ = ["BATCH", "DEFAULT_MAX_POSTINGS", "SNIPPET_PATH", "CloneIndex", "Matcher"]

DEFAULT_MAX_POSTINGS = 12
SNIPPET_PATH = "<snippet>"
BATCH = 200  # files whose pairs are computed together
FLUSH = 256  # files `add_file` gathers into one transaction
SCAN_SHARE = 8  # a report with at least 1/SCAN_SHARE of the files dirty scans the postings
_LOW = 0xFFFFFFFF
NO_SPACE = -1  # a workspace's number before anything of it is stored

Matcher = Callable[[Iterable[Seeds], int, CloneParams], Iterator[list[CloneRow]]]
"""Matches batches of pairs: (each batch's seeds by pair key `a_id << 32 | b_id`, k,
parameters) -> each batch's rows of the kept report (see `found.match_rows`), in order,
reading the files' tokens where it runs. It may take the next batch from the iterable (whose
seeds are then computed) while it matches the one before: a process pool does."""


def params_key(params: CloneParams) -> str:
    return f"{params.min_tokens}:{params.min_similarity!r}:{params.max_gap}:{int(params.type3)}"


P = ParamSpec("P")
R = TypeVar("R")


def _reading(
    method: Callable[Concatenate[CloneIndex, P], R],
) -> Callable[Concatenate[CloneIndex, P], R]:
    """An entry point whose reads of the database are not closed under it (`IndexDb.reading`):
    the index may be closed from another thread (its workspace closing) at any time."""

    def entry(self: CloneIndex, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.db.reading():
            return method(self, *args, **kwargs)

    functools.update_wrapper(entry, method)
    return entry


class CloneIndex:
    """Files' fingerprints and the clones among them, in one workspace (`workspace`) of `db`."""

    def __init__(
        self,
        db: IndexDb | None = None,
        workspace: str = "",
        k: int = DEFAULT_K,
        window: int = DEFAULT_WINDOW,
        max_postings: int = DEFAULT_MAX_POSTINGS,
        tokens: Cache | None = None,
        lines: Cache | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        if max_postings < 2:
            raise ValueError("max_postings must be at least 2")
        if db is None:  # a database of its own in a temporary folder, gone with the index
            db, on_close = _scratch()
            weakref.finalize(self, on_close)
        self.db, self.k, self.window, self.max_postings = db, k, window, max_postings
        self._on_close = on_close or db.close
        self._tokens: Cache = tokens if tokens is not None else LocalCache(512)
        self._lines: Cache = lines if lines is not None else LocalCache(128)
        # Made by the first write: opening a workspace writes nothing (its number until then
        # holds no rows).
        self._workspace = workspace
        self._pending: dict[str, Stored] = {}  # added, not stored yet (`add_file`)
        self.dirty: set[int] = set()
        self.stale: set[tuple[int, int]] = set()
        self.respot: set[int] = set()
        with db.reading() as conn:
            self.space = store.find_space(conn, workspace) or NO_SPACE
            made, whole = kept.kept_of(conn, self.space)
            self._indexed, self._skipped, _ = store.count_indexed(conn, self.space)
            self._staged = postings.staged(conn, self.space)  # left by the last process
        self._kept: str | None = made if whole else None
        if made is not None and not whole:  # what was out of date went with the last process
            db.write(lambda conn: kept.reset_kept(conn, self.space, None))

    @classmethod
    def local(cls, path: Path, workspace: str = "", **options: Any) -> CloneIndex:
        """An index in the database file `path` with a writer of its own (tests, benches)."""
        db, close = local_db(path)
        try:
            return cls(db, workspace, on_close=close, **options)
        except BaseException:
            close()
            raise

    def close(self) -> None:
        try:
            self._store()
        finally:
            self._on_close()  # idempotent

    def __enter__(self) -> CloneIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- contents ---------------------------------------------------------------------------

    @property
    def files_indexed(self) -> int:
        """Files stored with records (not those `add_file` still gathers: read on the event
        loop, this never writes)."""
        return self._indexed

    @property
    def files_skipped(self) -> int:
        """Files stored without records (binary, beyond the tokenizer)."""
        return self._skipped

    def add_file(self, tokens: FileTokens, fingerprints: Fingerprints | None = None) -> None:
        """Index a file, replacing any earlier version of the same path (fingerprints, from a
        worker, must use this index's k and window; by default they are computed here).
        Files are stored FLUSH at a time (one transaction), or before anything reads them."""
        if fingerprints is None:
            fingerprints = fingerprint(tokens, self.k, self.window)
        self._check(fingerprints)
        if tokens.path in self._pending:
            self._store()
        self._pending[tokens.path] = Stored(tokens.path, "", tokens, fingerprints)
        if len(self._pending) >= FLUSH:
            self._store()

    def remove_file(self, path: str) -> bool:
        """Forget a file; False when it was not indexed."""
        return bool(self.apply([], [path]))

    def apply(self, files: Sequence[Stored], removed: Sequence[str]) -> int:
        """Store analyzed files (replacing earlier versions) and forget `removed`, in one
        transaction; the kept report is told what changed. Returns how many rows went."""
        self._store()
        return self._apply(files, removed)

    def flush(self) -> None:
        """Store the files `add_file` gathered and merge the staged postings (queries do
        what they need of it first)."""
        self._store()
        self._merge()

    def _store(self) -> None:
        if self._pending:
            files = list(self._pending.values())
            self._pending = {}
            self._apply(files, [])

    def _merge(self) -> None:
        """Merge the staged postings into the index (see `postings`), a few buckets per
        transaction when there are many: the store's one writer is not held for long."""
        if not self._staged:
            return
        space = self.space
        step = max(1, BUCKETS * MERGE_ROWS // self._staged)
        for first in range(0, BUCKETS, step):
            step_aside()
            last = min(first + step, BUCKETS) - 1
            self.db.write(lambda c, f=first, t=last: postings.merge(c, space, f, t))  # type: ignore[misc]
        self._staged = 0

    def _check(self, prints: Fingerprints | None) -> None:
        if prints is not None and (prints.k, prints.window) != (self.k, self.window):
            raise ValueError("fingerprints were made with another k or window")

    def _apply(self, files: Sequence[Stored], removed: Sequence[str]) -> int:
        for f in files:
            self._check(f.fingerprints)
        keeping = self._kept is not None
        if self.space == NO_SPACE:
            self.space = self.db.write(lambda c: store.space_of(c, self._workspace))
        rows = [store.doc_values(f) for f in files]  # compressed here, not on the writer
        gone, added, crossed, counts = self.db.write(lambda c: self._write(c, files, removed, rows))
        # Kept, the postings were merged in that transaction (crossings are counted in them).
        self._staged = 0 if keeping else self._staged + sum(len(f.fingerprints or ()) for f in files)  # fmt: skip
        self._indexed += counts[0]
        self._skipped += counts[1]
        self.dirty.difference_update(gone)
        self.stale = {p for p in self.stale if not gone & set(p)} if gone else self.stale
        if self._kept is not None:
            self.dirty.update(added)
            self.stale |= crossed
        return len(gone)

    def _write(
        self,
        conn: sqlite3.Connection,
        files: Sequence[Stored],
        removed: Sequence[str],
        rows: Sequence[list[object] | None],
    ) -> tuple[set[int], list[int], set[tuple[int, int]], tuple[int, int]]:
        cap, space, keeping = self.max_postings, self.space, self._kept is not None
        delta: Counter[int] = Counter()
        if keeping:  # fingerprints whose postings cross the cap change the seeds of other pairs
            for path in [*(f.path for f in files), *removed]:
                fid = _fid_of(conn, space, path)
                prints = None if fid is None else store.read_prints(conn, fid)
                if prints is not None:
                    delta.subtract(prints[1].hashes)
            for f in files:
                if f.fingerprints is not None:
                    delta.update(f.fingerprints.hashes)
        changed = [h for h, n in delta.items() if n]
        if keeping:
            postings.merge(conn, space, 0, BUCKETS - 1)
        before = store.counts(conn, space, changed) if changed else {}
        gone, added, gone_indexed = store.put_files(conn, space, files, removed, rows)
        crossed: set[tuple[int, int]] = set()
        if keeping:
            postings.merge(conn, space, 0, BUCKETS - 1)
            self.respot |= kept.forget_files(conn, space, gone) - set(gone)
            after = store.counts(conn, space, changed) if changed else {}
            for h in changed:
                now, then = after.get(h, 0), before.get(h, 0)
                if min(now, then) <= cap < max(now, then):
                    held = [p >> 32 for p in store.lookup(conn, space, h, None)]
                    crossed.update(combinations(held, 2))
        counts = (len(added) - gone_indexed, len(files) - len(added) - len(gone) + gone_indexed)
        return set(gone), added, crossed, counts

    @_reading
    def states(self, paths: Iterable[str] | None, languages: frozenset[str]) -> dict[str, DocState]:
        """What is stored of `paths` (None: every path), `usable` when made as this index
        makes files of `languages` now."""
        self._store()
        conn = self.db.read()
        return store.doc_states(conn, self.space, paths, self.k, self.window, valid_lexers(), languages)  # fmt: skip

    @_reading
    def files(self) -> list[str]:
        """Indexed paths, sorted."""
        self._store()
        return [p for p, _ in store.indexed_paths(self.db.read(), self.space)]

    @_reading
    def get(self, path: str) -> FileTokens | None:
        """The tokens of an indexed file."""
        fid = self._fid(path)
        return None if fid is None else store.read_tokens(self.db.read(), [fid], True).get(fid)

    def __len__(self) -> int:
        self._store()
        return self._indexed

    def _fid(self, path: str) -> int | None:
        self._store()
        return _fid_of(self.db.read(), self.space, path)

    def _tokens_of(self, fids: Iterable[int]) -> dict[int, FileTokens]:
        """Tokens by id, through the hot set (without sources: previews read their own)."""
        out: dict[int, FileTokens] = {}
        missing = []
        for fid in fids:
            hit = self._tokens.get(fid)
            if hit is None:
                missing.append(fid)
            else:
                out[fid] = hit
        for fid, tokens in store.read_tokens(self.db.read(), missing, source=False).items():
            self._tokens.put(fid, tokens, tokens_size(tokens))
            out[fid] = tokens
        return out

    def _lines_of(self, fid: int) -> list[str]:
        lines: list[str] | None = self._lines.get(fid)
        if lines is None:
            source = store.read_source(self.db.read(), fid) or ""
            lines = source.split("\n") if source else []
            self._lines.put(fid, lines, lines_size(source, lines))
        return lines

    # -- queries ----------------------------------------------------------------------------

    @_reading
    def clones(
        self,
        paths: Sequence[str] | None = None,
        min_tokens: int = 30,
        min_similarity: float = 0.7,
        type3: bool = True,
        limit: int | None = None,
        max_gap: int = 16,
    ) -> list[Clone]:
        """Clones among indexed files, largest first; with `paths`, only those touching them
        (unknown paths are ignored)."""
        params = CloneParams(min_tokens, min_similarity, max_gap, type3)
        self.flush()
        conn = self.db.read()
        if paths is None:
            self._refresh(params)
            rows = kept.largest_clones(conn, self.space, limit)
        else:
            wanted = set(paths)
            ids = [fid for p, fid in store.indexed_paths(conn, self.space) if p in wanted]
            if self._kept == params_key(params) or len(ids) > BATCH:
                self._refresh(params)  # kept, brought up to date (or made: bounded memory)
                rows = kept.clones_of_files(conn, self.space, ids)
            else:  # another query's parameters: compute just these pairs, keep nothing
                chosen = set(ids)
                groups = seeds_of(conn, self.space, ids, chosen, self.max_postings)
                [rows] = self._match_here([groups], self.k, params)
        found = self._found(rows)
        return clones_of(found if limit is None else found[:limit], self._lines_of)

    def _found(self, rows: list[CloneRow]) -> list[Found]:
        paths = store.paths_of(self.db.read(), {fid for r in rows for fid in r[:2]})
        found = [Found.from_row(r, paths) for r in rows]
        found.sort(key=order)
        return found

    @_reading
    def hotspots(
        self,
        min_tokens: int = 30,
        min_similarity: float = 0.7,
        type3: bool = True,
        limit: int | None = None,
        max_gap: int = 16,
    ) -> list[Hotspot]:
        """Files with duplicated lines, the most duplicated (by share) first."""
        self._refresh(CloneParams(min_tokens, min_similarity, max_gap, type3))
        rows = kept.spots(self.db.read(), self.space, limit)
        spots = [Hotspot(path, lines, dup, ratio) for path, lines, dup, ratio in rows]
        spots.sort(key=lambda s: (-s.ratio, -s.duplicated_lines, s.path))
        return spots if limit is None else spots[:limit]

    @_reading
    def summary(
        self,
        min_tokens: int = 30,
        min_similarity: float = 0.7,
        type3: bool = True,
        max_gap: int = 16,
    ) -> Summary:
        """Files, lines, duplicated lines and clones over the whole index."""
        self._refresh(CloneParams(min_tokens, min_similarity, max_gap, type3))
        conn = self.db.read()
        files, _, lines = store.count_indexed(conn, self.space)
        duplicated = kept.duplicated_total(conn, self.space)
        percent = round(100 * duplicated / lines, 2) if lines else 0.0
        return Summary(files, lines, duplicated, percent, kept.clone_count(conn, self.space))

    @_reading
    def prepare(self, params: CloneParams, matcher: Matcher) -> None:
        """Bring the kept report for `params` up to date now, its pairs matched by `matcher`
        (in a process pool, say); queries with the same parameters then only read it."""
        self._refresh(params, matcher)

    @_reading
    def check(
        self,
        code: str | FileTokens,
        language: str = "python",
        min_tokens: int = 30,
        min_similarity: float = 0.7,
        type3: bool = True,
        limit: int | None = 20,
        max_gap: int = 16,
    ) -> list[Clone]:
        """Clones of a snippet (or of one file, whose own indexed version is left out) in the
        index. In each clone, `a` is the indexed code and `b` the snippet."""
        params = CloneParams(min_tokens, min_similarity, max_gap, type3)
        query = code if isinstance(code, FileTokens) else _snippet(code, language)
        prints = fingerprint(query, self.k, self.window)
        own = self._fid(query.path)
        self._merge()
        conn = self.db.read()
        seeds: dict[int, list[int]] = {}
        looked_up: dict[int, list[int]] = {}
        for h, qpos in zip(prints.hashes, prints.positions, strict=True):
            held = looked_up.get(h)
            if held is None:
                held = looked_up[h] = store.lookup(conn, self.space, h, self.max_postings)
            for posting in held:
                fid, pos = posting >> 32, posting & _LOW
                if fid != own:
                    seeds.setdefault(fid, []).append((qpos - pos + BIAS) << 32 | pos)
        found: list[Found] = []
        for fid, group in seeds.items():
            tokens = self._tokens_of([fid]).get(fid)
            if tokens is not None and tokens.lexicon.family == query.lexicon.family:
                group.sort()
                matches = match_pair(tokens, query, group, self.k, params)
                found.extend(Found.of(tokens, query, m, fid) for m in matches)
        found.sort(key=order)
        return clones_of(found if limit is None else found[:limit], self._lines_of)

    def set_max_postings(self, max_postings: int) -> None:
        """Another boilerplate cap: the postings stay, the kept report goes."""
        if max_postings < 2:
            raise ValueError("max_postings must be at least 2")
        self._store()
        self.max_postings = max_postings
        self.db.write(lambda conn: kept.reset_kept(conn, self.space, None))
        self._kept, self.dirty, self.stale, self.respot = None, set(), set(), set()

    # -- the kept report --------------------------------------------------------------------

    def _match_here(
        self, batches: Iterable[Seeds], k: int, params: CloneParams
    ) -> Iterator[list[CloneRow]]:
        """The `Matcher` that runs in this process, tokens through the hot set."""
        for groups in batches:
            yield match_rows(self._tokens_of(sorted(files_of(groups))), groups, k, params)

    def _refresh(self, params: CloneParams, matcher: Matcher | None = None) -> None:
        """The kept report, up to date: made anew when the parameters change, else with the
        pairs of changed files, and the stale pairs, computed again; batch by batch. When that
        fails half-way the kept report goes (the next query makes it again)."""
        self.flush()
        try:
            self._bring_up_to_date(params, matcher or self._match_here)
        except BaseException:
            self._kept, self.dirty, self.stale, self.respot = None, set(), set(), set()
            self.db.write(lambda conn: kept.reset_kept(conn, self.space, None))
            raise

    def _bring_up_to_date(self, params: CloneParams, match: Matcher) -> None:
        key, space, cap = params_key(params), self.space, self.max_postings
        if self._kept != key:
            self.db.write(lambda conn: kept.reset_kept(conn, space, key))
            self._kept, self.stale, self.respot = key, set(), set()
            self.dirty = {fid for _, fid in store.indexed_paths(self.db.read(), space)}
        if not (self.dirty or self.stale or self.respot):
            return
        dirty, conn = self.dirty, self.db.read()
        stale = sorted(p for p in self.stale if not dirty & set(p))
        self.db.write(lambda c: kept.forget_pairs(c, space, stale))
        respot = set(self.respot) | {fid for p in stale for fid in p}
        order_ = sorted(dirty)
        parts = [order_[at : at + BATCH] for at in range(0, len(order_), BATCH)]
        shared = self._shared(conn, dirty)

        def seeded() -> Iterator[Seeds]:
            for part in parts:
                step_aside()
                if shared is None:
                    yield seeds_of(conn, space, part, dirty, cap)
                else:
                    yield shared.seeds(part[0], part[-1])
            for at in range(0, len(stale), BATCH):
                step_aside()
                yield seeds_between(conn, space, stale[at : at + BATCH], cap)

        try:
            for n, rows in enumerate(match(seeded(), self.k, params)):
                self.db.write(lambda c, rows=rows: kept.add_clones(c, space, rows))  # type: ignore[misc]
                if n < len(parts):
                    respot.update(parts[n])
                    respot.update(fid for row in rows for fid in row[:2])  # their partners too
        finally:
            if shared is not None:
                shared.close()
        self._respot(sorted(respot))
        self.db.write(lambda c: kept.set_whole(c, space))
        self.dirty, self.stale, self.respot = set(), set(), set()

    def _shared(self, conn: sqlite3.Connection, dirty: set[int]) -> SharedPostings | None:
        """For many dirty files, the postings that seed, read in one scan (see
        `SharedPostings`); for a few, None: their fingerprints are looked up."""
        if len(dirty) < BATCH or len(dirty) * SCAN_SHARE < self._indexed:
            return None
        ranked = [fid for _, fid in store.indexed_paths(conn, self.space)]
        every = len(dirty) == len(ranked) and dirty.issuperset(ranked)
        return SharedPostings(conn, self.space, ranked, None if every else dirty, self.max_postings)

    def _respot(self, fids: list[int]) -> None:
        """Count the duplicated lines of these files again, batch by batch."""
        conn, space = self.db.read(), self.space
        for at in range(0, len(fids), BATCH):
            step_aside()
            part = fids[at : at + BATCH]
            ranges: dict[int, list[tuple[int, int]]] = {fid: [] for fid in part}
            for row in kept.clones_of_files(conn, space, part):
                a, b, al0, al1, bl0, bl1 = row[0], row[1], *row[9:]
                if a in ranges:
                    ranges[a].append((al0, al1))
                if b in ranges:
                    ranges[b].append((bl0, bl1))
            counts = store.line_counts(conn, part)
            spots, gone = [], []
            for fid, spans in ranges.items():
                lines = counts.get(fid)
                if not spans or not lines:
                    gone.append(fid)
                    continue
                duplicated = covered_lines(spans)
                spots.append((fid, duplicated, round(duplicated / lines, 4)))
            self.db.write(lambda c, s=spots, g=gone: kept.put_spots(c, space, s, g))  # type: ignore[misc]


def _scratch() -> tuple[IndexDb, Callable[[], None]]:
    folder = tempfile.mkdtemp(prefix="aegisd-similarity-")
    db, close = local_db(Path(folder) / "index.db")

    def gone() -> None:
        close()
        shutil.rmtree(folder, ignore_errors=True)

    return db, gone


def _fid_of(conn: sqlite3.Connection, space: int, path: str) -> int | None:
    return store.fid_of(conn, space, path)


def _snippet(code: str, language: str) -> FileTokens:
    return tokenize_file(SNIPPET_PATH, code.encode("utf-8", "surrogatepass"), language)
