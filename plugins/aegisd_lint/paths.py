"""Path conventions shared by the tools: workspace-relative "/" paths and test-file names."""

import os
from functools import lru_cache
from pathlib import Path, PurePosixPath


def rel_path(root: Path, name: str) -> str:
    """`name` (absolute, or relative to `root`) as a "/" path relative to `root`.

    A path outside the root (a tool may report on an installed module) stays absolute.
    """
    text = os.path.normpath(os.path.join(root, name))
    base = str(root)
    if text.startswith(base) and text[len(base) : len(base) + 1] == os.sep:
        # The common case, as plain strings: a whole-workspace pass names every file it
        # checked, once per issue (the stdlib: ~50k times), on the event loop.
        return text[len(base) + 1 :].replace(os.sep, "/")
    return _resolved_rel_path(root, Path(text))


@lru_cache(maxsize=1024)
def _resolved_rel_path(root: Path, path: Path) -> str:
    # Through symlinks (of the root or of the file); resolving costs syscalls, hence the cache.
    real_root = root.resolve()
    for candidate in (path, path.resolve()):
        try:
            return candidate.relative_to(real_root).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def is_test_file(path: str) -> bool:
    """True for pytest's default test module names: `test_*.py` and `*_test.py`."""
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def is_conftest(path: str) -> bool:
    """True for a pytest `conftest.py`, which every test in its directory tree loads."""
    return PurePosixPath(path).name == "conftest.py"
