from aegisd_audit.rundiff import FileTotal, summarize


def change(path: str, kind: str, added: int = 0, removed: int = 0, binary: bool = False) -> dict:
    return {
        "path": path, "change": kind, "lines_added": added, "lines_removed": removed,
        "binary": binary,
    }  # fmt: skip


def test_changes_fold_into_one_net_change_per_file() -> None:
    files = summarize(
        [
            change("b.py", "created", 10),
            change("a.py", "modified", 2, 1),
            change("b.py", "modified", 3, 2),
            change("tmp.txt", "created", 1),
            change("a.py", "modified", 1, 0),
            change("tmp.txt", "deleted", 0, 1),  # created then deleted: nothing overall
            change("old.py", "deleted", 0, 7),
            change("re.py", "deleted", 0, 4),
            change("re.py", "created", 5),  # deleted then created: modified
            change("logo.png", "modified", binary=True),
            {"path": 3, "change": "modified"},  # malformed payloads are ignored
            {"path": "x", "change": "renamed"},
        ]
    )
    assert files == [
        FileTotal("a.py", "modified", 3, 1, False, 2),
        FileTotal("b.py", "created", 13, 2, False, 2),
        FileTotal("logo.png", "modified", 0, 0, True, 1),
        FileTotal("old.py", "deleted", 0, 7, False, 1),
        FileTotal("re.py", "modified", 5, 4, False, 2),
    ]


def test_created_deleted_created_counts_from_the_last_creation() -> None:
    files = summarize(
        [
            change("t.py", "created", 4),
            change("t.py", "deleted", 0, 4),
            change("t.py", "created", 2),
        ]
    )
    assert files == [FileTotal("t.py", "created", 2, 0, False, 1)]
