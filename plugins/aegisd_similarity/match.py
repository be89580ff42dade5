"""From seed hits between two token streams to clones: extend, chain, trim, classify.

A seed is a k-gram both files share (found through their fingerprints). Seeds on one diagonal
grow into maximal blocks of equal normalized tokens; of blocks that repeat one another at a
shift, the longest is kept. For type 3, blocks that follow each other in both files are chained,
shorter equal runs are looked for between two blocks too far apart, and a chain is cut wherever
an unaligned stretch exceeds `max_gap` tokens on either side. Regions are then trimmed to whole
statements and classified: one block with equal original tokens is type 1, one block is type 2,
several blocks are type 3 with similarity 2 * aligned / (len_a + len_b).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from itertools import repeat
from operator import and_, rshift

from aegisd_similarity.lexicon import Lexicon
from aegisd_similarity.tokens import FileTokens

__all__ = [
    "BIAS",
    "CloneParams",
    "Match",
    "Matcher",
    "files_of",
    "match_groups",
    "match_pair",
    "parts_by_files",
]

BIAS = 1 << 31  # seeds pack (b_pos - a_pos + BIAS) << 32 | a_pos, so they sort by diagonal
_LOW = 0xFFFFFFFF
_RUN = 3  # the shortest match the gap alignment looks for
_NEARBY = 8  # how many earlier blocks a block is checked against for conflicts

Block = tuple[int, int, int]  # (a_start, b_start, length): equal normalized tokens


@dataclass(frozen=True, slots=True)
class CloneParams:
    """What counts as a clone. Every field is used by `match_pair`."""

    min_tokens: int = 30
    min_similarity: float = 0.7
    max_gap: int = 16
    type3: bool = True

    def __post_init__(self) -> None:
        if self.min_tokens < 1 or self.max_gap < 0 or not 0.0 <= self.min_similarity <= 1.0:
            raise ValueError(f"invalid clone parameters: {self}")


@dataclass(frozen=True, slots=True)
class Match:
    """A clone between token ranges [a_start, a_end) of one file and [b_start, b_end) of another.

    `tokens` is the size of the smaller region, not counting layout (Python's NEWLINE, INDENT
    and DEDENT); it is what `min_tokens` is compared with.
    """

    type: int
    similarity: float
    tokens: int
    a_start: int
    a_end: int
    b_start: int
    b_end: int

    def swapped(self) -> Match:
        """The same match seen from the other file."""
        return Match(
            self.type,
            self.similarity,
            self.tokens,
            self.b_start,
            self.b_end,
            self.a_start,
            self.a_end,
        )


Matcher = Callable[
    [Mapping[int, FileTokens], dict[int, list[int]], int, CloneParams], dict[int, list["Match"]]
]
"""Matches many pairs: (files by id, seeds by pair key `a_id << 32 | b_id`, k, parameters) ->
the clones of each pair that has some."""


def files_of(pairs: Collection[int]) -> set[int]:
    """The file ids in pair keys (`a_id << 32 | b_id`), split in C: there may be many."""
    return set(map(rshift, pairs, repeat(32))).union(map(and_, pairs, repeat(_LOW)))


def parts_by_files(groups: dict[int, list[int]], limit: int) -> Iterator[dict[int, list[int]]]:
    """`groups` cut, in key order, into parts whose pairs name at most `limit` files (a part
    of one pair names two), so that matching part by part holds that many files' tokens."""
    part: dict[int, list[int]] = {}
    named: set[int] = set()
    for pair in sorted(groups):
        a, b = pair >> 32, pair & _LOW
        if part and len(named) + (a not in named) + (b not in named) > limit:
            yield part
            part, named = {}, set()
        part[pair] = groups[pair]
        named.update((a, b))
    if part:
        yield part


def match_groups(
    files: Mapping[int, FileTokens], groups: dict[int, list[int]], k: int, params: CloneParams
) -> dict[int, list[Match]]:
    """The `Matcher` that runs here; module-level so a process pool can run it too. Sorts each
    pair's seeds in place."""
    out = {}
    for pair, seeds in groups.items():
        seeds.sort()
        found = match_pair(files[pair >> 32], files[pair & _LOW], seeds, k, params)
        if found:
            out[pair] = found
    return out


def match_pair(
    a: FileTokens, b: FileTokens, seeds: list[int], k: int, params: CloneParams
) -> list[Match]:
    """The clones between `a` and `b` grown from `seeds` (sorted; see BIAS).

    When `a is b`, every seed must have its b position after its a position; regions of one
    file never overlap.
    """
    blocks = _blocks(a.norm, b.norm, seeds, k)
    if a is b:
        blocks = [(s, t, min(n, t - s)) for s, t, n in blocks]
    blocks = _consistent(blocks)
    shortest = params.min_tokens
    if params.type3 and len(blocks) > 1:
        reach = 3 * params.max_gap + 2 * k  # room for unseeded matches between edits
        pieces = _chains(a.norm, b.norm, blocks, params.max_gap, reach, shortest)
    else:
        pieces = [[blk] for blk in blocks if blk[2] >= shortest]
    lx = a.lexicon
    found = [m for piece in pieces if (m := _best(a, b, piece, params, lx)) is not None]
    if a is b:
        found = [m for m in found if m.a_end <= m.b_start]
    return _outermost(found) if len(found) > 1 else found


def _blocks(a: array[int], b: array[int], seeds: list[int], k: int) -> list[Block]:
    """Maximal runs of equal tokens through the seeds; seeds inside a found run are skipped.

    Runs compare chunks of tokens as big integers: the lowest (or highest) set bit of their
    XOR is the first (or last) differing token, found in C whatever the chunk size.
    """
    va, vb = memoryview(a).cast("B"), memoryview(b).cast("B")
    size_a, size_b = len(a), len(b)
    as_int = int.from_bytes
    found: list[Block] = []
    diagonal = end = -1
    for seed in seeds:
        diag, i = seed >> 32, seed & _LOW
        if i < end and diag == diagonal:
            continue
        j = i + diag - BIAS
        ahead, chunk = 0, 32
        limit = size_a - i if size_a - i < size_b - j else size_b - j  # min() costs a call
        while ahead < limit:
            step = chunk if chunk < limit - ahead else limit - ahead
            x, y = 4 * (i + ahead), 4 * (j + ahead)
            diff = as_int(va[x : x + 4 * step], "little") ^ as_int(vb[y : y + 4 * step], "little")
            if diff:
                ahead += ((diff & -diff).bit_length() - 1) >> 5
                break
            ahead += step
            chunk *= 2
        if ahead < k:  # the fingerprints collided
            continue
        back, chunk, limit = 0, 32, i if i < j else j
        while back < limit:
            step = chunk if chunk < limit - back else limit - back
            x, y = 4 * (i - back), 4 * (j - back)
            diff = as_int(va[x - 4 * step : x], "little") ^ as_int(vb[y - 4 * step : y], "little")
            if diff:
                back += step - 1 - ((diff.bit_length() - 1) >> 5)
                break
            back += step
            chunk *= 2
        found.append((i - back, j - back, back + ahead))
        diagonal, end = diag, i + ahead
    return found


def _consistent(blocks: list[Block]) -> list[Block]:
    """Blocks sorted by position, without those mostly inside a longer block on another
    diagonal: repeated statements align at several shifts, and only one shift is the clone."""
    if len(blocks) < 2:
        return blocks
    kept: list[Block | None] = []
    reach = -1  # the furthest end in `a` of a kept block: most blocks start beyond it
    for blk in sorted(blocks):
        a0, b0, n = blk
        if a0 < reach:
            for at in range(len(kept) - 1, max(len(kept) - _NEARBY, 0) - 1, -1):
                other = kept[at]
                if other is None or other[0] + other[2] <= a0:
                    continue
                c0, d0, m = other
                shorter = n if n < m else m
                over_a = (a0 + n if a0 + n < c0 + m else c0 + m) - a0
                over_b = (b0 + n if b0 + n < d0 + m else d0 + m) - (b0 if b0 > d0 else d0)
                if 2 * over_a > shorter and 2 * over_b > shorter:
                    if n <= m:
                        break
                    kept[at] = None
            else:
                kept.append(blk)
        else:
            kept.append(blk)
        if a0 + n > reach:
            reach = a0 + n
    return [blk for blk in kept if blk is not None]


def _chains(
    a: array[int], b: array[int], blocks: list[Block], max_gap: int, reach: int, shortest: int
) -> list[list[Block]]:
    """Group blocks (sorted) into gap-tolerant alignments, gaps filled with smaller blocks.

    Chains spanning fewer than `shortest` tokens on a side are dropped before any alignment.
    """
    chains: list[list[Block]] = []
    live: list[_Tail] = []  # chains whose end may still take a block, oldest first
    for a0, b0, n in blocks:
        best: _Tail | None = None
        best_cost = best_cut = 0
        still: list[_Tail] = []
        horizon = a0 - reach
        for tail in live:
            ea, eb = tail.ea, tail.eb
            if ea < horizon:
                continue  # too far behind to take anything more
            still.append(tail)
            # A block may overlap the chain's last one (both extended greedily): drop its head.
            cut = ea - a0 if ea - a0 > eb - b0 else eb - b0
            if cut < 0:
                cut = 0
            if cut < n:
                gap_a, gap_b = a0 + cut - ea, b0 + cut - eb
                if (
                    gap_a <= reach
                    and gap_b <= reach
                    and (best is None or gap_a + gap_b < best_cost)
                ):
                    best, best_cost, best_cut = tail, gap_a + gap_b, cut
        live = still
        if best is None:
            chain = [(a0, b0, n)]
            chains.append(chain)
            live.append(_Tail(a0 + n, b0 + n, chain))
        else:
            best.blocks.append((a0 + best_cut, b0 + best_cut, n - best_cut))
            best.ea, best.eb = a0 + n, b0 + n
    pieces: list[list[Block]] = []
    for chain in chains:
        (a0, b0, _), (la, lb, ln) = chain[0], chain[-1]
        if min(la + ln - a0, lb + ln - b0) < shortest:
            continue
        pieces.extend(_split(_filled(a, b, chain, max_gap), max_gap) if len(chain) > 1 else [chain])
    return pieces


class _Tail:
    """A chain being built and where its last block ends in each file."""

    __slots__ = ("blocks", "ea", "eb")

    def __init__(self, ea: int, eb: int, blocks: list[Block]) -> None:
        self.ea, self.eb, self.blocks = ea, eb, blocks


def _filled(a: array[int], b: array[int], chain: list[Block], max_gap: int) -> list[Block]:
    """The chain with matching runs added where a gap is too wide to bridge as it is."""
    out = [chain[0]]
    for a0, b0, n in chain[1:]:
        la, lb, ln = out[-1]
        ea, eb = la + ln, lb + ln
        if a0 - ea > max_gap or b0 - eb > max_gap:
            out.extend(_runs_between(a, b, ea, a0, eb, b0))
        out.append((a0, b0, n))
    return out


def _runs_between(a: array[int], b: array[int], a0: int, a1: int, b0: int, b1: int) -> list[Block]:
    """Runs of at least _RUN equal tokens in a[a0:a1] and b[b0:b1], in order in both, taken
    greedily from the left, each at its first place in b; searched for in the bytes (cheaper
    than difflib, or an index of b's q-grams, for these short spans)."""
    if a1 - a0 < _RUN or b1 - b0 < _RUN:
        return []
    text_a, text_b, width = a[a0:a1].tobytes(), b[b0:b1].tobytes(), 4 * _RUN
    runs: list[Block] = []
    i, low = 0, 0
    while i <= a1 - a0 - _RUN:
        gram = text_a[4 * i : 4 * i + width]
        at = text_b.find(gram, 4 * low)
        while at & 3 and at >= 0:  # a match across token boundaries
            at = text_b.find(gram, at + 1)
        if at < 0:
            i += 1
            continue
        j = at >> 2
        n = _RUN
        while a0 + i + n < a1 and b0 + j + n < b1 and a[a0 + i + n] == b[b0 + j + n]:
            n += 1
        runs.append((a0 + i, b0 + j, n))
        i, low = i + n, j + n
    return runs


def _split(blocks: list[Block], max_gap: int) -> list[list[Block]]:
    """Cut a block list wherever the unaligned stretch exceeds `max_gap` on either side."""
    pieces = [[blocks[0]]]
    for blk in blocks[1:]:
        la, lb, ln = pieces[-1][-1]
        if blk[0] - la - ln > max_gap or blk[1] - lb - ln > max_gap:
            pieces.append([blk])
        else:
            pieces[-1].append(blk)
    return pieces


def _best(
    a: FileTokens, b: FileTokens, piece: list[Block], params: CloneParams, lx: Lexicon
) -> Match | None:
    """The clone of a piece; when it falls short, of the piece with its worst end cut off,
    until one block is left: a long exact run with noise aligned around it still counts."""
    while True:
        found = _finish(a, b, piece, params, lx)
        if found is not None or len(piece) == 1:
            return found
        (a0, b0, n0), (a1, b1, _) = piece[0], piece[1]
        (a2, b2, n2), (a3, b3, _) = piece[-2], piece[-1]
        head_gap = a1 - a0 - n0 + b1 - b0 - n0
        tail_gap = a3 - a2 - n2 + b3 - b2 - n2
        piece = piece[1:] if head_gap >= tail_gap else piece[:-1]


def _finish(
    a: FileTokens, b: FileTokens, piece: list[Block], params: CloneParams, lx: Lexicon
) -> Match | None:
    """Trim a piece to whole statements, then classify it, or None when it falls short."""
    (a0, b0, _), (la, lb, ln) = piece[0], piece[-1]
    if a.size(a0, la + ln) < params.min_tokens:  # trimming only shrinks it
        return None
    piece = _trimmed(a.norm, b.norm, piece, lx)
    (a0, b0, _), (la, lb, ln) = piece[0], piece[-1]
    a1, b1 = la + ln, lb + ln
    if len(piece) == 1:  # equal normalized tokens: the same size on both sides
        size = a.size(a0, a1)
        kind = 1 if a.orig[a0:a1] == b.orig[b0:b1] else 2
        return Match(kind, 1.0, size, a0, a1, b0, b1) if size >= params.min_tokens else None
    size = min(a.size(a0, a1), b.size(b0, b1))
    if size < params.min_tokens:
        return None
    similarity = 2 * sum(n for _, _, n in piece) / (a1 - a0 + b1 - b0)
    if similarity < params.min_similarity:
        return None
    return Match(3, round(similarity, 4), size, a0, a1, b0, b1)


def _trimmed(na: array[int], nb: array[int], piece: list[Block], lx: Lexicon) -> list[Block]:
    """Start the piece at a statement start and end it at a statement end, when it has them.

    Blocks with no boundary are dropped from the ends of a chain; a lone block without one
    (a long expression, a data table) is kept as found.
    """
    starts, ends, never = lx.starts_after, lx.ends_after, lx.never_first
    blocks = list(piece)
    while True:
        a0, b0, n = blocks[0]
        # At the block's first token, a boundary before it on either side will do.
        cut = 0 if a0 == 0 or b0 == 0 or na[a0 - 1] in starts or nb[b0 - 1] in starts else -1
        if cut == 0 and na[a0] in never:
            cut = -1
        if cut < 0:
            for o in range(1, n):
                if na[a0 + o - 1] in starts and na[a0 + o] not in never:
                    cut = o
                    break
        if cut >= 0:
            blocks[0] = (a0 + cut, b0 + cut, n - cut)
            break
        if len(blocks) == 1:
            return blocks
        blocks.pop(0)
    while True:
        a0, b0, n = blocks[-1]
        for keep in range(n, 0, -1):
            if na[a0 + keep - 1] in ends:
                blocks[-1] = (a0, b0, keep)
                return blocks
        if len(blocks) == 1:
            return blocks
        blocks.pop()


def _outermost(found: list[Match]) -> list[Match]:
    """Drop matches whose both regions lie inside another match's regions."""
    found.sort(key=lambda m: (m.a_start, -m.a_end))
    kept: list[Match] = []
    reach = -1  # the furthest a_end kept so far: most matches end beyond it
    for m in found:
        if m.a_end <= reach and any(
            o.a_end >= m.a_end and o.b_start <= m.b_start and m.b_end <= o.b_end for o in kept
        ):
            continue
        kept.append(m)
        reach = max(reach, m.a_end)
    return kept
