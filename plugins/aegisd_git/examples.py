"""Examples of the `git.*` methods for the API document (run by the tests against the example
workspace, made a repository of a few commits there)."""

from __future__ import annotations

from aegisd.rpc.registry import EXAMPLE_ROOT, Example

EXAMPLES: dict[str, tuple[Example, ...]] = {
    "git.status": (Example({"workspace": EXAMPLE_ROOT}),),
    "git.log": (
        Example({"limit": 5}),
        Example(
            {"path": "shop/cart.py", "author": "ada", "since": "2024-01-01T00:00:00Z"},
            name="by path, author and time",
        ),
    ),
    "git.show": (Example({"rev": "HEAD"}),),
    "git.diff": (
        Example({}, name="working tree against HEAD"),
        Example({"rev": "HEAD"}, name="what the last commit changed"),
    ),
    "git.blame": (Example({"path": "shop/cart.py", "start_line": 1, "end_line": 3}),),
    "git.file_history": (Example({"path": "shop/cart.py"}),),
    "git.matrix": (Example({"limit": 20, "path_glob": "shop/*.py"}),),
}
