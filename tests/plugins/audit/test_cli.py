import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("aiohttp", "pydantic", "peewee", "loguru", "watchfiles", "tree_sitter", "mcp")


def test_the_hook_path_imports_nothing_heavy() -> None:
    code = (
        "import sys; from aegisd import cli; from aegisd_audit import cli as audit_cli;"
        "cli.build_parser(['audit', 'hook']).parse_args(['audit', 'hook']);"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    this_tree = os.pathsep.join([str(ROOT), str(ROOT / "plugins")])
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": this_tree},
    )
    loaded = set(done.stdout.split())
    assert {"aegisd", "aegisd_audit", "http"} <= loaded  # the check sees what was imported
    assert not loaded & set(HEAVY)
