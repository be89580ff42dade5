"""Ignore rules equal git's: every verdict is checked against `git check-ignore` itself, on
hand-picked cases and on generated trees of nested `.gitignore`s, `info/exclude` and a global
excludes file."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aegisd.gitconfig import parse_config
from aegisd.gitignore import compile_line
from aegisd.ignore import IgnoreRules
from aegisd.ownpaths import OwnInRoot

pytestmark = pytest.mark.skipif(
    subprocess.run(["git", "--version"], capture_output=True).returncode != 0,
    reason="git is needed to compare with",
)


def git_env(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": os.environ["PATH"],
    }


def files_under(root: Path) -> Iterator[str]:
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            yield os.path.relpath(os.path.join(directory, name), root)


def git_kept(root: Path, env: dict[str, str]) -> set[str]:
    """The files under `root` that `git check-ignore` does not report as ignored."""
    paths = sorted(files_under(root))
    done = subprocess.run(
        ["git", "-C", str(root), "check-ignore", "--stdin", "-z"],
        input=b"".join(os.fsencode(p) + b"\0" for p in paths),
        capture_output=True,
        env=env,
    )
    assert done.returncode in (0, 1), done.stderr
    ignored = {os.fsdecode(p) for p in done.stdout.split(b"\0") if p}
    return set(paths) - ignored


def daemon_kept(root: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The files the daemon's rules keep, by walking and by asking path by path."""
    with monkeypatch.context() as patched:
        for key, value in env.items():
            patched.setenv(key, value)
        walked = {rel for rel, _ in IgnoreRules(root, {".git"}).load().walk()}
        rules = IgnoreRules(root, {".git"}).load()
        asked = {rel for rel in files_under(root) if not rules.is_ignored(rel)}
    assert walked == asked
    return walked


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    home.mkdir()
    root = tmp_path / "repo"
    env = git_env(home)
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    return root, env


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_three_sources_nested_negation_anchors_and_dirs(
    repo: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, env = repo
    home = Path(env["HOME"])
    write(home, {".config/git/config": "[core]\n\texcludesFile = ~/global-ignore\n"})
    write(home, {"global-ignore": "*.swp\n"})
    write(root, {
        ".gitignore": "*.py\n/top.txt\nbuild/\ndocs/**/*.tmp\n",
        ".git/info/exclude": "secret.env\n",
        "pkg/.gitignore": "!keep.py\n",
        "pkg/keep.py": "", "pkg/drop.py": "", "keep.py": "",
        "top.txt": "", "sub/top.txt": "",
        "build/out.c": "", "sub/build/x.c": "", "buildx/y.c": "",
        "docs/a.tmp": "", "docs/x/y/b.tmp": "", "docs/x/c.md": "",
        "secret.env": "", "pkg/secret.env": "",
        "edit.swp": "", "pkg/more.swp": "",
        "README": "",
    })  # fmt: skip
    kept = daemon_kept(root, env, monkeypatch)
    assert kept == git_kept(root, env)
    assert "pkg/keep.py" in kept  # re-included by the nested .gitignore
    dropped = {"pkg/drop.py", "keep.py", "secret.env", "edit.swp", "top.txt", "docs/a.tmp"}
    assert dropped.isdisjoint(kept)
    assert {"sub/top.txt", "buildx/y.c", "docs/x/c.md", "README"} <= kept


def test_nothing_inside_an_ignored_directory_comes_back(
    repo: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, env = repo
    write(root, {
        ".gitignore": "out/\n!out/keep.txt\nlogs/*\n!logs/keep.log\n",
        "out/keep.txt": "", "out/.gitignore": "!*\n", "out/other": "",
        "logs/keep.log": "", "logs/drop.log": "",
    })  # fmt: skip
    kept = daemon_kept(root, env, monkeypatch)
    assert kept == git_kept(root, env)
    assert "logs/keep.log" in kept and "out/keep.txt" not in kept


def test_a_workspace_below_the_top_of_its_repository(
    repo: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, env = repo
    write(root, {".gitignore": "/app/gen/\n*.log\n", "app/gen/x.py": "", "app/a.log": "",
                 "app/main.py": "", "app/.gitignore": "!a.log\n"})  # fmt: skip
    kept = daemon_kept(root / "app", env, monkeypatch)
    assert {f"app/{rel}" for rel in kept} == {
        p for p in git_kept(root, env) if p.startswith("app/")
    }
    assert kept == {"main.py", "a.log", ".gitignore"}


def test_non_utf8_names_and_patterns_match_byte_by_byte(
    repo: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, env = repo
    (root / ".gitignore").write_bytes(b"bad\xff*\n?\xc3\xa9\n")
    for name in (b"bad\xff.py", b"fine.py", b"x\xc3\xa9", b"\xc3\xa9"):
        (root / os.fsdecode(name)).write_text("")
    kept = daemon_kept(root, env, monkeypatch)
    assert kept == git_kept(root, env)
    assert os.fsdecode(b"\xc3\xa9") in kept  # `?` is one byte: it does not match a 2-byte char


def test_the_daemons_own_paths_and_excluded_names_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, {"state/aegisd.db": "", "run/x.sock": "", "a.py": "", "node_modules/m.js": ""})
    own = OwnInRoot(dirs=frozenset({"state"}), files=frozenset({"run/x.sock"}))
    rules = IgnoreRules(tmp_path, {"node_modules"}, own=own).load()
    assert {rel for rel, _ in rules.walk()} == {"a.py"}
    assert rules.is_ignored("state/aegisd.db") and rules.is_ignored("run/x.sock")
    assert rules.excluded_dir("state") and not rules.excluded_dir("run")


def test_lines_git_treats_specially() -> None:
    assert compile_line("# comment") is None and compile_line("   ") is None
    assert compile_line("\\#hash") is not None
    kept_space = compile_line("name\\ ")
    assert kept_space is not None and kept_space.regex.endswith("\\ ")
    negated = compile_line("!x/")
    assert negated is not None and negated.negative and negated.dir_only


def test_git_config_values() -> None:
    text = '[core]\n  excludesFile = "~/my ignore" ; comment\n[Core]\n\tbare\n[remote "o"]\nurl=x\n'
    assert list(parse_config(text)) == [
        ("core", "excludesfile", "~/my ignore"),
        ("core", "bare", None),
        ("remote.o", "url", "x"),
    ]


NAMES = ["a", "b", "ab", "x.py", "keep.py", "y.log", "build", "d.txt", "[x]", "sp ace", "é.py"]
ATOMS = ["a", "b", "*", "**", "?", "*.py", "*.log", "[ab]", "[!a]*", "build", "keep.py",
         "[a-c]", "é*", "\\*", "[[:alpha:]]*", "x.*"]  # fmt: skip


@st.composite
def patterns(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(ATOMS), min_size=1, max_size=3))
    line = "/".join(parts)
    line = ("/" if draw(st.booleans()) and draw(st.booleans()) else "") + line
    line += "/" if draw(st.integers(0, 3)) == 0 else ""
    return ("!" if draw(st.integers(0, 2)) == 0 else "") + line


@st.composite
def trees(draw: st.DrawFn) -> tuple[dict[str, str], list[str], list[str]]:
    """Files (path -> content; `.gitignore`s among them), info/exclude and global lines."""
    files: dict[str, str] = {}

    def fill(prefix: str, depth: int) -> None:
        names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
        for name in names:
            if depth < 3 and draw(st.integers(0, 2)) == 0:
                fill(f"{prefix}{name}/", depth + 1)
            else:
                files[f"{prefix}{name}"] = ""
        if draw(st.booleans()):
            files[f"{prefix}.gitignore"] = "\n".join(draw(st.lists(patterns(), max_size=5)))

    fill("", 0)
    return files, draw(st.lists(patterns(), max_size=3)), draw(st.lists(patterns(), max_size=3))


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=trees())
def test_generated_trees_equal_git_check_ignore(
    tree: tuple[dict[str, str], list[str], list[str]],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files, exclude, global_lines = tree
    base = tmp_path_factory.mktemp("tree")
    home = base / "home"
    root = base / "repo"
    env = git_env(home)
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    write(root, files)
    write(root, {".git/info/exclude": "\n".join(exclude) + "\n"})
    write(home, {".config/git/ignore": "\n".join(global_lines) + "\n"})
    assert daemon_kept(root, env, monkeypatch) == git_kept(root, env)
