"""Seeded recall: copies of the corpus functions, renamed and edited, must be found again."""

from __future__ import annotations

import ast
import io
import keyword
import random
import tokenize
from dataclasses import dataclass

import pytest
from aegisd_similarity.index import CloneIndex
from aegisd_similarity.models import Clone, Location
from aegisd_similarity.tokens import tokenize_file

from tests.plugins.similarity.helpers import FIXTURES, load

CORPUS = "corpus/warehouse.py"
OPENERS = ("return", "elif", "else", "except", "finally", "def", "@", "#", ")", "]", "}")


@dataclass(frozen=True)
class Seed:
    kind: int  # the clone type the copy was made to be
    name: str
    original: tuple[int, int]  # lines of the function in the corpus
    path: str
    code: str
    copy: tuple[int, int]  # lines of the copy in its file


def _functions(source: str) -> list[tuple[str, int, int]]:
    tree = ast.parse(source)
    return [
        (node.name, node.lineno, node.end_lineno or node.lineno)
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    ]


def _rename(code: str, salt: str) -> str:
    """Every identifier renamed, every number and string changed (a type-2 copy)."""
    lines = code.split("\n")
    for tok in reversed(list(tokenize.generate_tokens(io.StringIO(code).readline))):
        (row, start), (end_row, end) = tok.start, tok.end
        if row != end_row:
            continue
        if tok.type == tokenize.NAME and not keyword.iskeyword(tok.string):
            new = f"{tok.string}_{salt}"
        elif tok.type == tokenize.NUMBER:
            new = "7" if tok.string == "0" else tok.string + "1"
        elif tok.type == tokenize.STRING and tok.string[-1] in "'\"":
            new = tok.string[:-1] + salt + tok.string[-1]
        else:
            continue
        line = lines[row - 1]
        lines[row - 1] = line[:start] + new + line[end:]
    return "\n".join(lines)


def _simple(lines: list[str], at: int) -> bool:
    """A one-line statement in the body that can be moved or dropped."""
    text = lines[at].strip()
    return (
        at > 0
        and bool(text)
        and not text.startswith(OPENERS)
        and not text.endswith((":", ",", "(", "[", "{", "\\"))
        and all(text.count(o) == text.count(c) for o, c in ("()", "[]", "{}"))
    )


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _edit(code: str, rng: random.Random) -> str:
    """Statements added, removed and reordered (a type-3 copy, before renaming)."""
    lines = code.split("\n")
    simple = [i for i in range(len(lines)) if _simple(lines, i)]
    swaps = [i for i in simple if i + 1 in simple and _indent(lines[i]) == _indent(lines[i + 1])]
    if swaps:
        at = rng.choice(swaps)
        lines[at], lines[at + 1] = lines[at + 1], lines[at]
    at = rng.choice(simple)
    lines.insert(at + 1, f'{_indent(lines[at])}trace.append(("step", {at}))')
    simple = [i for i in range(len(lines)) if _simple(lines, i) and "trace" not in lines[i]]
    del lines[rng.choice(simple)]
    return "\n".join(lines)


def _seeds() -> list[Seed]:
    source = (FIXTURES / CORPUS).read_text()
    split = source.split("\n")
    rng = random.Random(2024)
    seeds = []
    for n, (name, start, end) in enumerate(_functions(source)):
        body = "\n".join(split[start - 1 : end])
        copies = {1: body, 2: _rename(body, f"v{n}"), 3: _rename(_edit(body, rng), f"w{n}")}
        for kind, code in copies.items():
            header = f"VERSION = {n * 10 + kind}\n\n\n"
            lines = code.count("\n") + 1
            seeds.append(
                Seed(kind, name, (start, end), f"t{kind}/{name}.py", header + code, (4, 3 + lines))
            )
    return seeds


def _covers(loc: Location, path: str, lines: tuple[int, int]) -> bool:
    """The location is in `path` and covers at least half of `lines`."""
    overlap = min(loc.end_line, lines[1]) - max(loc.start_line, lines[0]) + 1
    return loc.path == path and overlap * 2 >= lines[1] - lines[0] + 1


def _links(clone: Clone, seed: Seed) -> bool:
    return any(
        _covers(x, CORPUS, seed.original) and _covers(y, seed.path, seed.copy)
        for x, y in ((clone.a, clone.b), (clone.b, clone.a))
    )


@pytest.fixture(scope="module")
def seeds() -> list[Seed]:
    made = _seeds()
    assert len(made) == 3 * 22
    return made


def _recall(found: dict[Seed, bool], kind: int) -> float:
    chosen = [hit for seed, hit in found.items() if seed.kind == kind]
    return sum(chosen) / len(chosen)


def test_report_recall(seeds: list[Seed]) -> None:
    index = CloneIndex()
    index.add_file(load(CORPUS))
    for seed in seeds:
        index.add_file(tokenize_file(seed.path, seed.code.encode()))
    report = index.clones()
    found = {
        seed: any(_links(c, seed) and (seed.kind == 3 or c.type == seed.kind) for c in report)
        for seed in seeds
    }
    missed = sorted((s.kind, s.name) for s, hit in found.items() if not hit)
    assert _recall(found, 1) >= 0.95, missed
    assert _recall(found, 2) >= 0.95, missed
    assert _recall(found, 3) >= 0.80, missed


def test_check_recall(seeds: list[Seed]) -> None:
    index = CloneIndex()
    index.add_file(load(CORPUS))
    found = {}
    for seed in seeds:
        hits = index.check(seed.code)
        relabeled = [
            Clone(c.type, c.similarity, c.tokens, c.a, Location(seed.path, *_lines(c.b)), c.preview)
            for c in hits
        ]
        found[seed] = any(
            _links(c, seed) and (seed.kind == 3 or c.type == seed.kind) for c in relabeled
        )
    missed = sorted((s.kind, s.name) for s, hit in found.items() if not hit)
    assert _recall(found, 1) >= 0.95, missed
    assert _recall(found, 2) >= 0.95, missed
    assert _recall(found, 3) >= 0.80, missed


def _lines(loc: Location) -> tuple[int, int]:
    return (loc.start_line, loc.end_line)
