"""Reports on the whole index and on some of its files or folders."""

from __future__ import annotations

from aegisd_similarity import kept
from aegisd_similarity.found import clones_of
from aegisd_similarity.match import CloneParams
from aegisd_similarity.report import build_report, select

from tests.plugins.similarity.helpers import index_of

FILES = ["python/exact_a.py", "python/exact_b.py", "python/same_file.py", "python/empty.py"]
FILES += ["js/cart_a.js", "js/cart_b.js"]


def test_select_files_and_folders() -> None:
    index = index_of(*FILES)
    assert select(index, ["js"]) == ["js/cart_a.js", "js/cart_b.js"]
    assert select(index, ["js/", "python/empty.py", "nope"]) == [
        "js/cart_a.js",
        "js/cart_b.js",
        "python/empty.py",
    ]
    assert select(index, [""]) == index.files()
    assert select(index, ["python/exact"]) == []  # a prefix of a name is not a folder


def test_whole_index_and_selection_agree() -> None:
    index = index_of(*FILES)
    params = CloneParams()
    whole = build_report(index, None, params, limit=10)
    assert len(whole.clones) == whole.summary.clones == 3
    assert whole.summary.files == 6
    part = build_report(index, ["python/exact_b.py", "python/same_file.py"], params, limit=1)
    assert part.summary.clones == 2 and len(part.clones) == len(part.hotspots) == 1
    spots = {h.path: h for h in build_report(index, ["python"], params, 10).hotspots}
    assert spots == {h.path: h for h in whole.hotspots if h.path.startswith("python/")}
    selected = build_report(index, ["python"], params, 10).summary
    assert selected.files == 4
    assert selected.duplicated_lines == sum(h.duplicated_lines for h in spots.values())
    assert build_report(index, ["python/empty.py"], params, 10).summary.clones == 0


def test_previews_read_each_file_once_in_report_order() -> None:
    index = index_of(
        "python/exact_a.py", "python/exact_b.py", "python/renamed_a.py", "python/renamed_b.py"
    )
    full = index.clones()
    asked: list[int] = []

    def lines_of(fid: int) -> list[str]:
        asked.append(fid)
        return index._lines_of(fid)

    rows = kept.largest_clones(index.db.read(), index.space, None)
    found = index._found(rows) * 3  # each file's clones far apart in the list
    shown = clones_of(found, lines_of)
    assert len(asked) == len(set(asked)) == len({f.source for f in found})
    assert shown == full * 3
