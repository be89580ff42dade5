"""Path conventions shared by the tools: workspace-relative "/" paths and test-file names."""

import os
from pathlib import Path, PurePosixPath


def rel_path(root: Path, name: str) -> str:
    """`name` (absolute, or relative to `root`) as a "/" path relative to `root`.

    A path outside the root (a tool may report on an installed module) stays absolute.
    """
    path = Path(os.path.normpath(root / name))
    for base in (root, root.resolve()):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            pass
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def is_test_file(path: str) -> bool:
    """True for pytest's default test module names: `test_*.py` and `*_test.py`."""
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def is_conftest(path: str) -> bool:
    """True for a pytest `conftest.py`, which every test in its directory tree loads."""
    return PurePosixPath(path).name == "conftest.py"
