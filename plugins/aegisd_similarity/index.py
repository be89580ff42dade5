"""`CloneIndex`: fingerprints of every file in an inverted index, and clone queries over it.

Adding or removing a file touches only its own postings. Clones come from seeds: every two
postings of a fingerprint, except for fingerprints with more than `max_postings` postings
(boilerplate), which are skipped, so a fingerprint never yields more than max_postings² / 2
seeds. The full report is kept per file pair; after an edit only the pairs of the changed
files are computed again, plus the pairs of files that share a fingerprint whose count crossed
the cap (they gained or lost its seeds). Pairs are matched by a `Matcher`: in this thread by
default, in a process pool when `prepare` is given one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, combinations

from aegisd_similarity.fingerprint import DEFAULT_K, DEFAULT_WINDOW, Fingerprints, fingerprint
from aegisd_similarity.found import Found, SourceLines, clones_of, order
from aegisd_similarity.kept import KeptReport
from aegisd_similarity.match import (
    BIAS,
    CloneParams,
    Matcher,
    files_of,
    match_groups,
    match_pair,
)
from aegisd_similarity.models import Clone, Hotspot, Summary
from aegisd_similarity.postings import Postings
from aegisd_similarity.tokens import FileTokens, tokenize_file

__all__ = ["DEFAULT_MAX_POSTINGS", "SNIPPET_PATH", "CloneIndex"]

DEFAULT_MAX_POSTINGS = 12
SNIPPET_PATH = "<snippet>"
_LOW = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class _File:
    id: int
    tokens: FileTokens
    fingerprints: Fingerprints


class CloneIndex:
    """Files' fingerprints and the clones among them; not thread-safe (one owner at a time)."""

    def __init__(
        self,
        k: int = DEFAULT_K,
        window: int = DEFAULT_WINDOW,
        max_postings: int = DEFAULT_MAX_POSTINGS,
    ) -> None:
        if max_postings < 2:
            raise ValueError("max_postings must be at least 2")
        self.k, self.window, self.max_postings = k, window, max_postings
        self._by_path: dict[str, _File] = {}
        self._by_id: dict[int, _File] = {}
        self._postings = Postings()
        self._next_id = 0
        self._kept: KeptReport | None = None  # the report of the last parameters asked for
        self._lines = SourceLines()  # for previews

    # -- contents ---------------------------------------------------------------------------

    def add_file(self, tokens: FileTokens, fingerprints: Fingerprints | None = None) -> None:
        """Index a file, replacing any earlier version of the same path.

        `fingerprints` (from a worker) must use this index's k and window; by default they
        are computed here.
        """
        if fingerprints is None:
            fingerprints = fingerprint(tokens, self.k, self.window)
        elif (fingerprints.k, fingerprints.window) != (self.k, self.window):
            raise ValueError("fingerprints were made with another k or window")
        old = self._by_path.get(tokens.path)
        if old is not None:
            self._drop(old)
        self._next_id += 1  # ids only grow, so every postings list stays sorted
        entry = _File(self._next_id, tokens, fingerprints)
        self._by_path[tokens.path] = self._by_id[entry.id] = entry
        self._postings.add(entry.id, fingerprints)
        if self._kept is not None:
            gone = Counter(old.fingerprints.hashes) if old else Counter[int]()
            self._kept.stale |= self._crossed(Counter(fingerprints.hashes), gone)
            self._kept.dirty.add(entry.id)

    def remove_file(self, path: str) -> bool:
        """Forget a file; False when it was not indexed."""
        entry = self._by_path.get(path)
        if entry is None:
            return False
        self._drop(entry)
        if self._kept is not None:
            self._kept.stale |= self._crossed(Counter(), Counter(entry.fingerprints.hashes))
        return True

    def files(self) -> list[str]:
        """Indexed paths, sorted."""
        return sorted(self._by_path)

    def get(self, path: str) -> FileTokens | None:
        """The tokens of an indexed file."""
        entry = self._by_path.get(path)
        return entry.tokens if entry else None

    def items(self) -> list[tuple[FileTokens, Fingerprints]]:
        """Every file's tokens and fingerprints, in the order they were added (to build an
        index with other parameters without fingerprinting again)."""
        return [(e.tokens, e.fingerprints) for e in self._by_id.values()]

    def __len__(self) -> int:
        return len(self._by_path)

    # -- queries ----------------------------------------------------------------------------

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
        if paths is None:
            found = self._refresh(params).found()
        else:
            ids = {self._by_path[p].id for p in paths if p in self._by_path}
            if self._kept is not None and params == self._kept.params:  # kept, brought up to date
                found = self._refresh(params).of_files(ids)
            else:  # another query's parameters: compute just these pairs, keep nothing
                pairs = self._compute(self._seeds_of(ids), params, match_groups).values()
                found = list(chain.from_iterable(pairs))
            found.sort(key=order)
        return clones_of(found if limit is None else found[:limit], self._lines)

    def hotspots(
        self,
        min_tokens: int = 30,
        min_similarity: float = 0.7,
        type3: bool = True,
        limit: int | None = None,
        max_gap: int = 16,
    ) -> list[Hotspot]:
        """Files with duplicated lines, the most duplicated (by share) first."""
        kept = self._refresh(CloneParams(min_tokens, min_similarity, max_gap, type3))
        spots = kept.hotspots(self._tokens)
        spots.sort(key=lambda s: (-s.ratio, -s.duplicated_lines, s.path))
        return spots if limit is None else spots[:limit]

    def summary(
        self,
        min_tokens: int = 30,
        min_similarity: float = 0.7,
        type3: bool = True,
        max_gap: int = 16,
    ) -> Summary:
        """Files, lines, duplicated lines and clones over the whole index."""
        kept = self._refresh(CloneParams(min_tokens, min_similarity, max_gap, type3))
        lines = sum(e.tokens.line_count for e in self._by_path.values())
        duplicated = sum(s.duplicated_lines for s in kept.hotspots(self._tokens))
        percent = round(100 * duplicated / lines, 2) if lines else 0.0
        return Summary(len(self._by_path), lines, duplicated, percent, len(kept.found()))

    def prepare(self, params: CloneParams, matcher: Matcher) -> None:
        """Bring the kept report for `params` up to date now, its pairs matched by `matcher`
        (in a process pool, say); queries with the same parameters then only read it."""
        self._refresh(params, matcher)

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
        own = self._by_path.get(query.path)
        seeds: dict[int, list[int]] = {}
        for h, qpos in zip(prints.hashes, prints.positions, strict=True):
            for posting in self._postings.lookup(h, self.max_postings):
                fid, pos = posting >> 32, posting & _LOW
                if own is None or fid != own.id:
                    seeds.setdefault(fid, []).append((qpos - pos + BIAS) << 32 | pos)
        found: list[Found] = []
        for fid, group in seeds.items():
            tokens = self._by_id[fid].tokens
            if tokens.lexicon.family == query.lexicon.family:
                group.sort()
                matches = match_pair(tokens, query, group, self.k, params)
                found.extend(Found.of(tokens, query, m) for m in matches)
        found.sort(key=order)
        return clones_of(found if limit is None else found[:limit], self._lines)

    # -- the kept report --------------------------------------------------------------------

    def _drop(self, entry: _File) -> None:
        """Take a file out of the maps, the postings and the kept report."""
        del self._by_path[entry.tokens.path], self._by_id[entry.id]
        self._postings.remove(entry.id, entry.fingerprints)
        if self._kept is not None:
            self._kept.forget({entry.id})
            self._kept.dirty.discard(entry.id)

    def _tokens(self, file_id: int) -> FileTokens | None:
        entry = self._by_id.get(file_id)
        return entry.tokens if entry else None

    def _refresh(self, params: CloneParams, matcher: Matcher = match_groups) -> KeptReport:
        """The kept report, up to date: made anew when the parameters change, else with the
        pairs of changed files, and the stale pairs, computed again."""
        kept = self._kept
        if kept is None or kept.params != params:
            kept = KeptReport(params)
            kept.store(self._compute(self._seeds(), params, matcher))
            self._kept = kept  # only once whole: the matcher may fail
        elif kept.dirty or kept.stale:
            dirty, live = kept.dirty, self._by_id
            # Pairs of a file that went or was replaced are gone; a dirty file's are computed.
            stale = {
                p
                for p in kept.stale
                if live.keys() >= {p >> 32, p & _LOW} and not dirty & {p >> 32, p & _LOW}
            }
            kept.forget(dirty)
            kept.forget_pairs(stale)
            groups = self._seeds_of(dirty)
            groups.update(self._seeds_between(stale))
            kept.store(self._compute(groups, params, matcher))
            kept.dirty, kept.stale = set(), set()
        return kept

    def _crossed(self, added: Counter[int], removed: Counter[int]) -> set[int]:
        """Pairs of files holding a fingerprint whose postings crossed the cap, one way or the
        other, through this change (fingerprint -> postings added and removed): they gained or
        lost its seeds."""
        cap, pairs = self.max_postings, set[int]()
        for h in added.keys() | removed.keys():
            delta = added[h] - removed[h]
            if delta:
                now = self._postings.count(h)
                if min(now - delta, now) <= cap < max(now - delta, now):
                    held = [p >> 32 for p in self._postings.lookup(h)]  # ascending
                    pairs.update(x << 32 | y for x, y in combinations(held, 2))
        return pairs

    def _compute(
        self, groups: dict[int, list[int]], params: CloneParams, matcher: Matcher
    ) -> dict[int, list[Found]]:
        """Clones of each pair of seeds, oriented so `first` has the smaller path."""
        by_id = self._by_id
        files: Mapping[int, FileTokens] = {fid: by_id[fid].tokens for fid in files_of(groups)}
        family = {fid: t.lexicon.family for fid, t in files.items()}
        groups = {
            pair: seeds
            for pair, seeds in groups.items()
            if family[pair >> 32] == family[pair & _LOW]
        }
        out: dict[int, list[Found]] = {}
        for pair, matches in matcher(files, groups, self.k, params).items():
            a, b = files[pair >> 32], files[pair & _LOW]
            if a.path > b.path:  # name pairs in path order, whatever order files came in
                a, b, matches = b, a, [m.swapped() for m in matches]
            out[pair] = [Found.of(a, b, m, pair) for m in matches]
        return out

    def _seeds(self) -> dict[int, list[int]]:
        """Seeds of every file pair, keyed `a_id << 32 | b_id` (a_id <= b_id)."""
        groups: dict[int, list[int]] = {}
        low = _LOW
        for hits in self._postings.groups(self.max_postings):
            for x, y in combinations(hits, 2):  # x < y: ids, then positions, ascending
                pair = (x & ~low) | (y >> 32)
                seed = ((y & low) - (x & low) + BIAS) << 32 | (x & low)
                group = groups.get(pair)
                if group is None:
                    groups[pair] = [seed]
                else:
                    group.append(seed)
        return groups

    def _seeds_of(self, chosen: set[int]) -> dict[int, list[int]]:
        """Seeds of the pairs that involve one of the files `chosen`."""
        groups: dict[int, list[int]] = {}
        cap, low = self.max_postings, _LOW
        for fid in chosen:
            prints = self._by_id[fid].fingerprints
            for h, pos in zip(prints.hashes, prints.positions, strict=True):
                own = fid << 32 | pos
                for other in self._postings.lookup(h, cap):
                    if other == own or (other >> 32 in chosen and other < own):
                        continue  # itself, or found from the other side
                    x, y = (own, other) if own < other else (other, own)
                    seed = ((y & low) - (x & low) + BIAS) << 32 | (x & low)
                    groups.setdefault((x & ~low) | (y >> 32), []).append(seed)
        return groups

    def _seeds_between(self, pairs: set[int]) -> dict[int, list[int]]:
        """Seeds of just these pairs, from the fingerprints the two files share (cheaper than
        looking each fingerprint of both up in the postings)."""
        places: dict[int, dict[int, list[int]]] = {}  # file id -> hash -> positions
        under: dict[int, bool] = {}  # hash -> within the cap
        groups: dict[int, list[int]] = {}
        for pair in pairs:
            x, y = pair >> 32, pair & _LOW
            px, py = self._places(x, places), self._places(y, places)
            seeds = []
            for h in px.keys() & py.keys():
                ok = under.get(h)
                if ok is None:
                    ok = under[h] = self._postings.count(h) <= self.max_postings
                if not ok:
                    continue
                if x == y:  # each two places once, the first as `a`
                    seeds += [(j - i + BIAS) << 32 | i for i, j in combinations(px[h], 2)]
                else:
                    seeds += [(j - i + BIAS) << 32 | i for i in px[h] for j in py[h]]
            if seeds:
                groups[pair] = seeds
        return groups

    def _places(self, fid: int, known: dict[int, dict[int, list[int]]]) -> dict[int, list[int]]:
        """A file's fingerprints: hash -> ascending positions (memoized in `known`)."""
        found = known.get(fid)
        if found is None:
            found = known[fid] = {}
            prints = self._by_id[fid].fingerprints
            for h, pos in zip(prints.hashes, prints.positions, strict=True):
                found.setdefault(h, []).append(pos)
        return found


def _snippet(code: str, language: str) -> FileTokens:
    return tokenize_file(SNIPPET_PATH, code.encode("utf-8", "surrogatepass"), language)
