"""Shared fixtures: one real run of every tool over a copy of the fixture project, fake tools."""

import asyncio
import hashlib
import re
import shutil
import site as sitepackages
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from aegisd_lint.bandit import Bandit
from aegisd_lint.issues import ToolResult
from aegisd_lint.max_file_length import MaxFileLength
from aegisd_lint.mypy import Mypy
from aegisd_lint.pytest import Pytest
from aegisd_lint.ruff import Ruff
from aegisd_lint.runner import run_tool
from aegisd_lint.tool import LintTool

FIXTURE = Path(__file__).parents[2] / "fixtures" / "lint" / "project"
_EXPECT = re.compile(r"# expect: (.+)$")
# pytest-benchmark (installed here) creates .benchmarks in the cwd of any pytest it loads into
NO_BENCHMARK = ("-p", "no:benchmark")
#: the fixture project is trusted, with this suite's interpreter as its own (pytest runs with
#: the workspace's interpreter only)
TRUSTED = {"trusted": True, "python": sys.executable}
#: the real tools' run over the project, each under a memory limit (a quarter of the default)
MEMORY_MB = 1024


@dataclass(frozen=True)
class ProjectRuns:
    root: Path
    mypy_cache: Path
    results: dict[str, ToolResult]
    before: dict[str, str]
    after: dict[str, str]


def snapshot(root: Path) -> dict[str, str]:
    """Every file and directory under root, with a hash of each file's content."""
    return {
        path.relative_to(root).as_posix(): (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        )
        for path in root.rglob("*")
    }


def expected_issues(root: Path, tool: str) -> set[tuple[str, int, str]]:
    """(path, line, code) of every `# expect: <tool> <code>` marker in the project."""
    found = set()
    for path in sorted(root.rglob("*.py")):
        for number, text in enumerate(path.read_text().splitlines(), 1):
            match = _EXPECT.search(text)
            for item in match.group(1).split(",") if match else ():
                name, code = item.split()
                if name == tool:
                    found.add((path.relative_to(root).as_posix(), number, code))
    return found


def found_issues(result: ToolResult) -> set[tuple[str, int, str]]:
    return {(issue.path, issue.line, issue.code or "") for issue in result.issues}


def copy_project(dest: Path, venv: bool = False) -> Path:
    """A copy of the fixture project; with `venv`, with a virtualenv of its own too."""
    root = dest / "project"
    # caches a repo-wide tool run may have left in the fixture are not part of the project
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(".*_cache", "__pycache__"))
    if venv:
        make_venv(root)
    return root


def make_venv(root: Path) -> Path:
    """`root/.venv`, seeing this suite's packages (pytest among them), as a project's own
    virtualenv would have them installed: pytest runs only with the workspace's interpreter."""
    venv = root / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    # This suite's packages by a .pth file: `--system-site-packages` would give the base
    # installation's, which lack them when the suite itself runs in a venv (CI's 3.12, 3.13).
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "aegisd-suite.pth").write_text("\n".join(sitepackages.getsitepackages()) + "\n")
    return python


@pytest.fixture(scope="session")
def project_runs(tmp_path_factory: pytest.TempPathFactory) -> ProjectRuns:
    root = copy_project(tmp_path_factory.mktemp("lint"))
    mypy_cache = tmp_path_factory.mktemp("mypy-cache")
    tools: list[LintTool] = [Ruff(), Mypy(), Bandit(), Pytest(), MaxFileLength()]
    before = snapshot(root)

    async def run_all() -> list[ToolResult]:
        return await asyncio.gather(
            *(
                run_tool(
                    tool,
                    root,
                    timeout_s=120,
                    extra_args=NO_BENCHMARK if tool.name == "pytest" else (),
                    cache_dir=mypy_cache if tool.name == "mypy" else None,
                    max_memory_mb=MEMORY_MB,
                    **TRUSTED,
                )
                for tool in tools
            )
        )

    results = {result.tool: result for result in asyncio.run(run_all())}
    return ProjectRuns(root, mypy_cache, results, before, snapshot(root))


def write_script(path: Path, body: str) -> Path:
    """An executable Python script (this interpreter) at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return path
