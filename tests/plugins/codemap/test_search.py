from __future__ import annotations

import random

import pytest
from aegisd_codemap import ranking, searchquery
from aegisd_codemap.ranking import Row
from aegisd_codemap.search import Hit, SymbolSearch

KINDS = ["function", "class", "method", "struct"]

ROWS = [
    (1, "get_file_summary", "get_file_summary", "function", "pkg/files.py", False),
    (2, "GetFileSummary", "Reports.GetFileSummary", "method", "src/reports.ts", False),
    (3, "gfs", "gfs", "function", "pkg/deep/nested/short.py", False),
    (4, "gfsHelper", "gfsHelper", "function", "a.py", False),
    (5, "config_gfs_loader", "config_gfs_loader", "function", "b.py", False),
    (6, "xgfsy", "xgfsy", "function", "c.py", False),
    (7, "go_fast_sometimes", "Runner.go_fast_sometimes", "method", "pkg/sub.py", False),
    (9, "g_x_f_y_s", "g_x_f_y_s", "function", "pkg/g.py", False),
    (10, "GetFileSummary", "GetFileSummary", "class", "lib/x.py", False),
    (11, "GFS", "GFS", "class", "pkg/deep/nested/other.py", False),
    (12, "Gfs", "Gfs", "function", "pkg/deep/nested/third.py", False),
    (13, "unrelated", "Outer.Reports.unrelated", "method", "z.py", False),
]


@pytest.fixture
def index() -> SymbolSearch:
    return SymbolSearch(ROWS)


def ids(hits: list[Hit]) -> list[int]:
    return [hit.symbol_id for hit in hits]


def test_words_split_on_underscores_camel_case_and_digits() -> None:
    index = SymbolSearch(
        [(1, "getHTTPResponse_2xx", "getHTTPResponse_2xx", "function", "a.py", False)]
    )
    for query in ("ghr2x", "HTTPResp", "http_resp", "Response2", "2xx", "ghr"):
        assert [(h.symbol_id, h.match) for h in index.query(query)] == [(1, "word")], query
    assert [h.match for h in index.query("ttpr")] == ["substring"]
    assert [h.match for h in index.query("gtrsp")] == ["subsequence"]


def test_tiers_then_path_length_then_kind_then_name(index: SymbolSearch) -> None:
    hits = index.query("gfs")
    # Names whose whole initials are the query come before a word in the middle (5).
    assert ids(hits) == [11, 12, 3, 4, 10, 7, 1, 2, 5, 6, 9]
    assert [h.match for h in hits] == [
        *["exact"] * 3,
        "prefix",
        *["word"] * 5,
        "substring",
        "subsequence",
    ]
    assert hits[0] == Hit(11, 1.0, "exact", "GFS", "GFS", "class", "pkg/deep/nested/other.py")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_matching_ignores_case(index: SymbolSearch) -> None:
    assert ids(index.query("GFS")) == ids(index.query("gfs"))
    assert [(h.symbol_id, h.match) for h in index.query("  GetFileSummary ")] == [
        (10, "exact"),
        (2, "exact"),
        (1, "word"),  # get_file_summary: the same words
    ]


def test_word_starts_follow_the_querys_own_words(index: SymbolSearch) -> None:
    assert [(h.symbol_id, h.match) for h in index.query("FileSum")] == [
        (10, "word"),
        (1, "word"),
        (2, "word"),
    ]
    assert ids(index.query("file_sum")) == [10, 1, 2]
    assert [(h.symbol_id, h.match) for h in index.query("summ")] == [
        (10, "word"),
        (1, "word"),
        (2, "word"),
    ]
    # Not at a word start: only a substring.
    assert [(h.symbol_id, h.match) for h in index.query("ilesum")] == [
        (10, "substring"),
        (2, "substring"),
        (1, "subsequence"),
    ]


def test_qualified_names(index: SymbolSearch) -> None:
    assert [(h.symbol_id, h.match) for h in index.query("Reports.GetFileSummary")] == [(2, "exact")]
    assert [(h.symbol_id, h.match) for h in index.query("Reports.unrelated")] == [(13, "exact")]
    assert [(h.symbol_id, h.match) for h in index.query("Rep.get")] == [(2, "prefix")]
    assert [(h.symbol_id, h.match) for h in index.query("Run.go")] == [(7, "prefix")]
    assert [(h.symbol_id, h.match) for h in index.query("ports.Get")] == [(2, "substring")]
    assert [(h.symbol_id, h.match) for h in index.query("Reports.")] == [
        (13, "prefix"),
        (2, "prefix"),
    ]


def test_kind_filter(index: SymbolSearch) -> None:
    assert ids(index.query("gfs", kind="class")) == [11, 10]
    assert ids(index.query("gfs", kind="method")) == [7, 2]
    assert index.query("gfs", kind="struct") == []


def test_path_glob_filter(index: SymbolSearch) -> None:
    assert ids(index.query("gfs", path_glob="pkg/*")) == [11, 12, 3, 7, 1, 9]
    assert ids(index.query("gfs", path_glob="*.ts")) == [2]
    assert ids(index.query("gfs", kind="function", path_glob="pkg/deep/*")) == [12, 3]
    assert index.query("gfs", path_glob="nowhere/*") == []


def test_limit_and_empty_queries(index: SymbolSearch) -> None:
    assert ids(index.query("gfs", limit=4)) == [11, 12, 3, 4]
    assert index.query("gfs", limit=0) == []
    assert index.query("   ") == []
    assert index.query(".") == []
    assert index.query("qqqq") == []
    # No words in the query: no word matches either, only names holding "_".
    assert [(h.symbol_id, h.match) for h in index.query("_")] == [
        (5, "substring"),
        (9, "substring"),
        (7, "substring"),
        (1, "substring"),
    ]


def test_incremental_updates_per_path(index: SymbolSearch) -> None:
    assert len(index) == len(ROWS)
    index.remove_path("b.py")
    index.replace_path("c.py", [(6, "renamed", "renamed", "function", "c.py", False)])
    index.add([(20, "gfs_new", "gfs_new", "function", "new/place.py", False)])
    assert len(index) == len(ROWS)
    assert ids(index.query("gfs")) == [11, 12, 3, 4, 20, 10, 7, 1, 2, 9]
    index.remove_path("pkg/deep/nested/other.py")
    index.remove_path("never/indexed.py")
    assert ids(index.query("gfs", limit=2)) == [12, 3]
    assert ids(index.query("renamed")) == [6]


def test_adding_a_known_id_replaces_it(index: SymbolSearch) -> None:
    index.add([(4, "other_name", "other_name", "function", "a.py", False)])
    assert len(index) == len(ROWS)
    assert 4 not in ids(index.query("gfs"))
    assert ids(index.query("other_name")) == [4]


def test_long_queries_match_as_subsequences_of_long_names() -> None:
    index = SymbolSearch(
        [
            (1, "a_very_long_function_name_here", "x", "function", "a.py", False),
            (2, "a_short_name", "y", "function", "a.py", False),
        ]
    )
    assert [(h.symbol_id, h.match) for h in index.query("avrylongfunctionname")] == [
        (1, "subsequence")
    ]
    assert [(h.symbol_id, h.match) for h in index.query("ashrtnm")] == [(2, "subsequence")]


def test_prepared_views_answer_like_lazy_ones_and_follow_edits() -> None:
    queries = ("gfs", "GetFileSummary", "Reports.GetFileSummary", "Re.un", "summ", "xy")
    lazy = SymbolSearch(ROWS)
    prepared = SymbolSearch(ROWS)
    prepared.prepare()
    for query in queries:
        assert prepared.query(query) == lazy.query(query), query
    # An edit after prepare() drops the prepared view of its group: no stale answers.
    prepared.replace_path("a.py", [(20, "gfs_added", "gfs_added", "function", "a.py", False)])
    assert 4 not in ids(prepared.query("gfsHelper"))
    assert ids(prepared.query("gfs_added")) == [20]
    # Views rebuilt after edits reuse the strings of unchanged rows: same answers as new ones.
    prepared.replace_path(
        "b.py", [(21, "ConfigLoader", "Cfg.ConfigLoader", "class", "b.py", False)]
    )
    prepared.replace_path("c.py", [])
    fresh = SymbolSearch([r for r in ROWS if r[4] not in ("a.py", "b.py", "c.py")])
    fresh.add([(20, "gfs_added", "gfs_added", "function", "a.py", False)])
    fresh.add([(21, "ConfigLoader", "Cfg.ConfigLoader", "class", "b.py", False)])
    for query in (*queries, "cl", "Cfg.Conf", "gfs_a"):
        for kind in (None, "class"):
            assert prepared.query(query, kind) == fresh.query(query, kind), (query, kind)


def test_an_edit_in_a_large_group_patches_its_view_with_the_same_answers() -> None:
    # One path length, many files: an edit changes a small part of the group's view.
    names = ["get_value", "GetValue", "parse", "Parser", "parse_all", "value_of", "run", "Run"]
    kinds = ["function", "class", "method"]
    rows = [
        (n * 10 + i, name, f"C{n}.{name}" if i % 2 else name, kinds[i % 3], f"f{n:02}.py", False)
        for n in range(40)
        for i, name in enumerate(names)
    ]
    search = SymbolSearch(rows)
    search.prepare()
    group = search._groups[False, len("f00.py")]
    before = group.view(None)
    edited = [
        (1000, "parse_value", "parse_value", "function", "f07.py", False),
        (1001, "Value", "Value", "class", "f07.py", False),
    ]
    search.replace_path("f07.py", edited)
    search.replace_path("f08.py", [])
    fresh = SymbolSearch([r for r in rows if r[4] not in ("f07.py", "f08.py")] + edited)
    for query in ("parse", "value", "gv", "pv", "Parser", "C3.run", "c.get", "u", "rn"):
        for kind in (None, "class", "method"):
            assert search.query(query, kind, limit=500) == fresh.query(query, kind, limit=500)
    after = group.view(None)
    assert after is not before and len(after.rows) == len(before.rows) - 8 * 2 + 2
    # spliced, yet the same as a view built from scratch, string for string
    built = fresh._groups[False, len("f00.py")].view(None)
    assert after.rows == built.rows
    for column in ("names", "marked", "initials", "quals"):
        patched, rebuilt = getattr(after, column), getattr(built, column)
        assert (patched.text, patched.starts) == (rebuilt.text, rebuilt.starts), column


def test_random_edits_patch_views_exactly_as_rebuilding_them() -> None:
    rng = random.Random(11)
    words = ["get", "Value", "parse", "x", "Run", "all", "io", "Parser"]

    def file_rows(n: int, first_id: int) -> list[Row]:
        return [
            (first_id + i, "_".join(rng.sample(words, 2)), f"Q.n{i}", rng.choice(KINDS), f"f{n:02}.py", False)
            for i in range(rng.randrange(0, 6))
        ]  # fmt: skip

    files = {n: file_rows(n, n * 100) for n in range(60)}
    search = SymbolSearch([r for rows in files.values() for r in rows])
    next_id = 10_000
    for _ in range(40):
        n = rng.randrange(60)
        search.query("a")  # a view exists, so the next query patches it
        files[n] = file_rows(n, next_id)
        next_id += 100
        search.replace_path(f"f{n:02}.py", files[n])
        search.query("a")
        fresh = SymbolSearch([r for rows in files.values() for r in rows])
        fresh.query("a")
        mine, theirs = (
            search._groups[False, 6].views[None, None],
            fresh._groups[False, 6].views[None, None],
        )
        assert mine.rows == theirs.rows
        for column in ("names", "marked", "initials", "quals"):
            a, b = getattr(mine, column), getattr(theirs, column)
            assert (a.text, a.starts) == (b.text, b.starts)


def test_subsequences_found_by_the_rarest_character_match_a_full_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(3)
    letters = "abcdeklmxyz_"
    names = ["".join(rng.choice(letters) for _ in range(rng.randrange(3, 14))) for _ in range(400)]
    rows = [(i, n, n, "function", f"f{i % 7}.py", False) for i, n in enumerate(names)]
    queries = ["".join(rng.choice(letters) for _ in range(rng.randrange(2, 6))) for _ in range(60)]
    answers = []
    for rare_lines in (0, 10**9):  # never / always try the rarest character's lines only
        monkeypatch.setattr(searchquery, "_RARE_LINES", rare_lines)
        index = SymbolSearch(rows)
        answers.append([index.query(q, limit=500) for q in queries])
    assert answers[0] == answers[1]
    assert sum(1 for hits in answers[0] if any(h.match == "subsequence" for h in hits)) > 10


def test_ties_go_to_code_outside_tests_and_implementations_before_overloads() -> None:
    index = SymbolSearch(
        [
            (1, "get_object", "Double.get_object", "method", "tests/views.py", False),
            (2, "get_object", "Mixin.get_object", "method", "app/generic/detail.py", False),
            (3, "pick", "pick", "function", "app/typed.py", True),
            (4, "pick", "pick", "function", "app/typed.py", True),
            (5, "pick", "pick", "function", "app/typed.py", False),
            (6, "get_objects", "get_objects", "function", "app/a.py", False),
        ]
    )
    # Tests rank last within a tier, never above a better match (6 is only a prefix).
    assert ids(index.query("get_object")) == [2, 1, 6]
    assert ids(index.query("pick")) == [5, 3, 4]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/views.py", True),
        ("pkg/test_core.py", True),
        ("pkg/core_test.py", True),
        ("conftest.py", True),
        ("web/app.test.ts", True),
        ("web/__tests__/app.tsx", True),
        ("src/widget.spec.js", True),
        ("tests/fixtures/codemap/x.py", True),
        ("pkg/fixtures/data.py", True),
        ("pkg/testing_utils.py", False),
        ("pkg/contest.py", False),
        ("app/views.py", False),
    ],
)
def test_paths_of_tests_and_fixtures(path: str, expected: bool) -> None:
    assert ranking.in_tests(path) is expected


def test_module_paths_and_overloads() -> None:
    assert ranking.module_path("src/Pkg/mod.py") == "src.pkg.mod"
    assert ranking.module_path("pkg/sub/__init__.py") == "pkg.sub"
    assert ranking.module_path("web/lib/index.ts") == "web.lib"
    assert ranking.is_stub(["overload"]) and ranking.is_stub(["typing.overload"])
    assert ranking.is_stub(["t.overload"]) and not ranking.is_stub(["property", "cache"])


def test_module_qualified_queries() -> None:
    index = SymbolSearch(
        [
            (1, "render", "render", "function", "django/shortcuts.py", False),
            (2, "render", "Template.render", "method", "django/template/base.py", False),
            (3, "JsonResponse", "JsonResponse", "class", "django/http/response.py", False),
            (4, "get_object", "Mixin.get_object", "method", "django/views/detail.py", False),
            (5, "render_to_string", "render_to_string", "function", "django/shortcuts.py", False),
            (6, "setup", "setup", "function", "pkg/__init__.py", False),
        ]
    )

    def found(query: str) -> list[tuple[int, str, float]]:
        return [(h.symbol_id, h.match, h.score) for h in index.query(query)]

    assert found("django.shortcuts.render") == [(1, "exact", 1.0), (5, "prefix", 0.8)]
    assert found("shortcuts.render")[0] == (1, "exact", 1.0)  # any dotted suffix of the module
    assert found("django.template.base.Template.render") == [(2, "exact", 1.0)]
    assert found("template.Template.render") == [(2, "exact", 0.9)]  # under the package
    assert found("django.http.JsonResponse") == [(3, "exact", 0.9)]
    assert found("views.detail.Mixin.get_obj") == [(4, "prefix", 0.8)]
    assert found("pkg.setup") == [(6, "exact", 1.0)]  # a package's __init__
    assert found("nowhere.render") == []
    # Files that come, go or change keep the module lookup right.
    index.replace_path(
        "django/shortcuts.py",
        [(7, "redirect", "redirect", "function", "django/shortcuts.py", False)],
    )
    assert found("django.shortcuts.render") == []
    assert found("django.shortcuts.redirect") == [(7, "exact", 1.0)]
    index.add([(8, "render", "render", "function", "other/shortcuts.py", False)])
    assert found("shortcuts.render") == [(8, "exact", 1.0)]
    index.remove_path("other/shortcuts.py")
    assert found("shortcuts.render") == []
