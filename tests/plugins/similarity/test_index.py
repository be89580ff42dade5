"""CloneIndex on the fixture files: clone types, negatives, parameters, updates, check."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest
from aegisd_similarity.fingerprint import fingerprint
from aegisd_similarity.index import CloneIndex
from aegisd_similarity.lexicon import lexicon
from aegisd_similarity.match import CloneParams
from aegisd_similarity.models import Clone, Location
from aegisd_similarity.store import CloneRow
from aegisd_similarity.tokens import tokenize_file

from tests.plugins.similarity.helpers import FIXTURES, index_of, load

PAIRS = [
    "python/exact_a.py",
    "python/exact_b.py",
    "python/renamed_a.py",
    "python/renamed_b.py",
    "python/gapped_a.py",
    "python/gapped_b.py",
    "python/same_file.py",
]
NEGATIVES = [
    "python/shape_a.py",
    "python/shape_b.py",
    "python/short_patterns.py",
    "python/empty.py",
    "python/comments_only.py",
    "python/imports_only.py",
]
OTHERS = ["js/cart_a.js", "js/cart_b.js", "ts/store_a.ts", "ts/store_b.ts"]
OTHERS += ["cpp/matrix_a.cpp", "cpp/matrix_b.cpp"]


@pytest.fixture(scope="module")
def everything() -> CloneIndex:
    return index_of(*PAIRS, *NEGATIVES, *OTHERS, "corpus/warehouse.py")


def _between(found: list[Clone], first: str, second: str) -> list[Clone]:
    return [c for c in found if {c.a.path, c.b.path} == {first, second}]


def _span(clone: Clone, path: str) -> tuple[int, int]:
    loc = clone.a if clone.a.path == path else clone.b
    return (loc.start_line, loc.end_line)


def test_exact_copy_among_unique_code_is_type_1(everything: CloneIndex) -> None:
    [clone] = _between(everything.clones(), "python/exact_a.py", "python/exact_b.py")
    assert (clone.type, clone.similarity) == (1, 1.0)
    assert _span(clone, "python/exact_a.py") == (28, 46)  # the whole function, nothing else
    assert _span(clone, "python/exact_b.py") == (15, 34)
    assert clone.tokens >= 100
    assert clone.preview.startswith("def summarize_scores(scores, passing=60):\n")


def test_renamed_identifiers_and_literals_are_type_2(everything: CloneIndex) -> None:
    [clone] = _between(everything.clones(), "python/renamed_a.py", "python/renamed_b.py")
    assert (clone.type, clone.similarity) == (2, 1.0)
    assert _span(clone, "python/renamed_a.py") == (4, 16)
    assert _span(clone, "python/renamed_b.py") == (4, 16)


def test_added_removed_and_reordered_statements_are_type_3(everything: CloneIndex) -> None:
    [clone] = _between(everything.clones(), "python/gapped_a.py", "python/gapped_b.py")
    assert clone.type == 3
    assert 0.7 <= clone.similarity < 1.0
    assert _span(clone, "python/gapped_a.py") == (4, 19)
    assert _span(clone, "python/gapped_b.py") == (4, 20)


def test_same_file_clones_do_not_overlap(everything: CloneIndex) -> None:
    [clone] = _between(everything.clones(), "python/same_file.py", "python/same_file.py")
    assert clone.type == 2
    assert (clone.a.start_line, clone.a.end_line) == (4, 13)
    assert (clone.b.start_line, clone.b.end_line) == (19, 28)


def test_javascript_typescript_and_cpp_pairs(everything: CloneIndex) -> None:
    found = everything.clones()
    [js] = _between(found, "js/cart_a.js", "js/cart_b.js")
    assert js.type == 2 and _span(js, "js/cart_a.js") == (4, 14)
    [ts] = _between(found, "ts/store_a.ts", "ts/store_b.ts")
    assert ts.type == 1  # other comments, imports and layout
    assert _span(ts, "ts/store_a.ts") == (10, 22) and _span(ts, "ts/store_b.ts") == (8, 18)
    [cpp] = _between(found, "cpp/matrix_a.cpp", "cpp/matrix_b.cpp")
    assert cpp.type == 3 and cpp.similarity >= 0.7
    assert _span(cpp, "cpp/matrix_a.cpp")[0] == 5


def test_negatives_do_not_match(everything: CloneIndex) -> None:
    found = everything.clones(min_tokens=30)
    touched = {c.a.path for c in found} | {c.b.path for c in found}
    assert touched.isdisjoint(NEGATIVES)
    assert len(found) == 7  # the seven pairs above, nothing else
    for name in NEGATIVES:
        assert everything.check(load(name)) == []


def test_language_families() -> None:
    js = (FIXTURES / "js" / "cart_a.js").read_bytes()
    index = CloneIndex()
    index.add_file(tokenize_file("web/cart.js", js))
    index.add_file(tokenize_file("web/cart.ts", js))  # TypeScript is a superset: it may match
    index.add_file(tokenize_file("native/cart.c", js))  # parsed as C: it must not
    index.add_file(tokenize_file("py/cart.py", js, language="python"))  # nor as Python
    assert [(c.type, c.a.path, c.b.path) for c in index.clones()] == [
        (1, "web/cart.js", "web/cart.ts")
    ]
    assert lexicon("python").code("(") != lexicon("c").code("(") != lexicon("tsx").code("(")
    assert lexicon("javascript").code("(") == lexicon("tsx").code("(")


def test_parameters_are_used(everything: CloneIndex) -> None:
    gapped = ("python/gapped_a.py", "python/gapped_b.py")
    assert (
        _between(everything.clones(min_tokens=500), "python/exact_a.py", "python/exact_b.py") == []
    )
    assert _between(everything.clones(min_similarity=0.99), *gapped) == []
    assert all(c.type != 3 for c in everything.clones(type3=False))
    assert all(c.type != 3 for c in _between(everything.clones(max_gap=0), *gapped))
    top = everything.clones(limit=2)
    assert top == everything.clones()[:2]
    assert [c.tokens for c in everything.clones()] == sorted(
        (c.tokens for c in everything.clones()), reverse=True
    )
    only = everything.clones(paths=["python/renamed_b.py", "not/indexed.py"])
    assert [(c.a.path, c.b.path) for c in only] == [("python/renamed_a.py", "python/renamed_b.py")]


def test_common_fingerprints_are_capped() -> None:
    code = (FIXTURES / "python" / "renamed_a.py").read_bytes()
    copies = CloneIndex(max_postings=4)
    for n in range(5):
        copies.add_file(tokenize_file(f"copy{n}.py", code))
    assert copies.clones() == []  # every fingerprint is in 5 files: boilerplate
    roomy = CloneIndex(max_postings=5)
    for n in range(5):
        roomy.add_file(tokenize_file(f"copy{n}.py", code))
    assert len(roomy.clones()) == 10  # all pairs of five copies
    assert {c.type for c in roomy.clones()} == {1}


def test_incremental_edit_and_removal() -> None:
    index = index_of("python/exact_a.py", "python/exact_b.py", "python/renamed_a.py")
    assert index.files() == ["python/exact_a.py", "python/exact_b.py", "python/renamed_a.py"]
    assert len(index.clones()) == 1
    original = (FIXTURES / "python" / "exact_b.py").read_text()
    edited = original.replace("if score >= 90:", "while score > 91 and score % 7:").replace(
        "elif score >= passing:", "elif score in ranks:"
    )
    index.add_file(tokenize_file("python/exact_b.py", edited.encode()))
    [clone] = index.clones()
    assert clone.type == 3  # the edit left a near-miss clone
    index.add_file(tokenize_file("python/exact_b.py", b"print('nothing left')\n"))
    assert index.clones() == []
    assert len(index) == 3
    index.add_file(load("python/exact_b.py"))
    assert [c.type for c in index.clones()] == [1]
    assert index.remove_file("python/exact_a.py") is True
    assert index.remove_file("python/exact_a.py") is False
    assert index.clones() == []
    assert index.files() == ["python/exact_b.py", "python/renamed_a.py"]
    assert index.get("python/exact_a.py") is None


def test_add_file_accepts_fingerprints_from_a_worker() -> None:
    index = CloneIndex()
    tokens = load("python/renamed_a.py")
    index.add_file(tokens, fingerprint(tokens, index.k, index.window))
    with pytest.raises(ValueError):
        index.add_file(tokens, fingerprint(tokens, index.k + 1, index.window))


def test_hotspots_and_summary() -> None:
    index = index_of("python/exact_a.py", "python/exact_b.py", "python/shape_a.py")
    spots = {s.path: s for s in index.hotspots()}
    lines_a = len((FIXTURES / "python/exact_a.py").read_text().splitlines())
    lines_b = len((FIXTURES / "python/exact_b.py").read_text().splitlines())
    assert spots["python/exact_a.py"].duplicated_lines == 46 - 28 + 1
    assert spots["python/exact_a.py"].lines == lines_a
    assert spots["python/exact_b.py"].ratio == round((34 - 15 + 1) / lines_b, 4)
    assert "python/shape_a.py" not in spots
    assert [s.path for s in index.hotspots(limit=1)] == [max(spots, key=lambda p: spots[p].ratio)]
    summary = index.summary()
    assert summary.files == 3 and summary.clones == 1
    total = sum(len((FIXTURES / p).read_text().splitlines()) for p in index.files())
    assert summary.lines == total
    assert summary.duplicated_lines == 19 + 20
    assert summary.percent == round(100 * 39 / total, 2)


def test_check_finds_a_pasted_function(everything: CloneIndex) -> None:
    source = (FIXTURES / "python" / "exact_a.py").read_text().split("\n")
    pasted = "\n".join(source[27:46])  # summarize_scores, as an agent would paste it
    found = everything.check(pasted)
    assert {(c.type, c.a.path) for c in found} == {
        (1, "python/exact_a.py"),
        (1, "python/exact_b.py"),
    }
    hit = next(c for c in found if c.a.path == "python/exact_a.py")
    assert (hit.a, hit.b) == (Location("python/exact_a.py", 28, 46), Location("<snippet>", 1, 19))
    renamed = pasted.replace("scores", "marks").replace("grades", "tiers").replace("90", "85")
    assert {c.type for c in everything.check(renamed)} == {2}
    assert everything.check("def unrelated():\n    return 42\n") == []


def test_check_a_file_leaves_out_its_own_indexed_version(everything: CloneIndex) -> None:
    found = everything.check(load("python/renamed_a.py"))
    assert [(c.a.path, c.b.path) for c in found] == [("python/renamed_b.py", "python/renamed_a.py")]


def test_check_other_languages(everything: CloneIndex) -> None:
    body = (FIXTURES / "js" / "cart_b.js").read_text().split("\n")[3:15]
    found = everything.check("\n".join(body), language="javascript")
    assert [c.a.path for c in found] == ["js/cart_b.js", "js/cart_a.js"]
    assert everything.check("\n".join(body), language="python") == []


def test_paths_filter_matches_the_full_report(everything: CloneIndex) -> None:
    full = everything.clones()
    cold = index_of(*PAIRS, *NEGATIVES, *OTHERS, "corpus/warehouse.py")
    for path in ("python/gapped_b.py", "cpp/matrix_a.cpp", "python/same_file.py"):
        expected = [c for c in full if path in (c.a.path, c.b.path)]
        assert everything.clones(paths=[path]) == expected  # filtered from the kept report
        assert cold.clones(paths=[path]) == expected  # computed for this file alone


def _fresh(index: CloneIndex, **options: int) -> CloneIndex:
    again = CloneIndex(**options)
    for path in index.files():
        tokens = index.get(path)
        assert tokens is not None
        again.add_file(tokens)
    return again


def test_kept_report_stays_equal_to_a_fresh_one() -> None:
    index = index_of(*PAIRS, *OTHERS, max_postings=3)
    assert index.summary() == _fresh(index, max_postings=3).summary()
    steps = [
        lambda: index.add_file(tokenize_file("copy/renamed.py", _text("python/renamed_a.py"))),
        lambda: index.remove_file("python/exact_a.py"),
        lambda: index.add_file(tokenize_file("python/gapped_b.py", b"x = 1\n")),
        lambda: index.add_file(load("python/exact_a.py")),
        lambda: index.add_file(tokenize_file("copy/again.py", _text("python/renamed_a.py"))),
        lambda: index.remove_file("copy/again.py"),
    ]
    for step in steps:
        step()
        assert index.clones() == _fresh(index, max_postings=3).clones()
        assert index.hotspots() == _fresh(index, max_postings=3).hotspots()
        assert index.summary() == _fresh(index, max_postings=3).summary()
        assert index.clones(paths=["python/renamed_b.py"]) == _fresh(index, max_postings=3).clones(
            paths=["python/renamed_b.py"]
        )


def _text(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def test_a_fingerprint_crossing_the_cap_updates_other_pairs() -> None:
    code = _text("python/renamed_a.py")
    index = CloneIndex(max_postings=3)
    for n in range(3):
        index.add_file(tokenize_file(f"copy{n}.py", code))
    assert len(index.clones()) == 3
    index.add_file(tokenize_file("copy3.py", code))  # now boilerplate: no pair has seeds
    assert index.clones() == []
    index.remove_file("copy0.py")  # back under the cap
    assert [(c.a.path, c.b.path) for c in index.clones()] == [
        ("copy1.py", "copy2.py"),
        ("copy1.py", "copy3.py"),
        ("copy2.py", "copy3.py"),
    ]


def test_another_cap_keeps_the_postings_and_drops_the_report() -> None:
    index = index_of(*PAIRS, *OTHERS)
    index.remove_file("python/exact_a.py")
    assert index.clones() == _fresh(index).clones() != []
    index.set_max_postings(3)
    assert index.clones() == _fresh(index, max_postings=3).clones()


def test_kept_report_follows_edits_made_between_queries() -> None:
    index = index_of(*PAIRS, *OTHERS, max_postings=3)
    assert index.clones() == _fresh(index, max_postings=3).clones()
    # Clones come and go again before the next query: the sorted list must not miss a beat.
    index.add_file(tokenize_file("copy/renamed.py", _text("python/renamed_a.py")))
    index.add_file(tokenize_file("copy/renamed.py", _text("python/exact_a.py")))
    index.remove_file("python/gapped_b.py")
    index.add_file(tokenize_file("copy/other.py", _text("python/renamed_b.py")))
    assert index.clones() == _fresh(index, max_postings=3).clones()
    assert index.hotspots() == _fresh(index, max_postings=3).hotspots()


def test_prepare_keeps_what_its_matcher_found() -> None:
    index = index_of(*PAIRS, *OTHERS)
    asked: list[set[int]] = []

    def nothing(
        batches: Iterable[dict[int, list[int]]], k: int, p: CloneParams
    ) -> Iterator[list[CloneRow]]:
        for groups in batches:
            asked.append(set(groups))
            yield []

    index.prepare(CloneParams(), nothing)
    assert asked and asked[0]
    assert index.clones() == []  # the kept report is read, not computed again
    index.prepare(CloneParams(), nothing)
    assert len(asked) == 1  # up to date: nothing to match
    index.add_file(load("python/exact_b.py"))  # a new version: only its pairs are matched
    assert [(c.a.path, c.b.path) for c in index.clones()] == [
        ("python/exact_a.py", "python/exact_b.py")
    ]


def test_prepare_leaves_the_report_to_compute_when_its_matcher_fails() -> None:
    def failing(*_: object) -> Iterator[list[CloneRow]]:
        raise RuntimeError("the pool broke")
        yield []

    index = index_of(*PAIRS)
    with pytest.raises(RuntimeError):
        index.prepare(CloneParams(), failing)
    assert index.clones() == _fresh(index).clones()  # computed here instead
    index.add_file(tokenize_file("copy/renamed.py", _text("python/renamed_a.py")))
    with pytest.raises(RuntimeError):
        index.prepare(CloneParams(), failing)
    assert index.clones() == _fresh(index).clones()
