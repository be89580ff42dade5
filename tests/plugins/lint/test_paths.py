"""Tools' file names as workspace-relative paths: relative, absolute, through symlinks, outside."""

from pathlib import Path

from aegisd_lint.paths import rel_path


def test_names_become_root_relative_slash_paths(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("")
    link = tmp_path / "link"
    link.symlink_to(root)
    assert rel_path(root, "pkg/a.py") == "pkg/a.py"
    assert rel_path(root, "./pkg/../pkg/a.py") == "pkg/a.py"
    assert rel_path(root, str(root / "pkg" / "a.py")) == "pkg/a.py"
    # a tool that was given the root through a symlink, or the other way round
    assert rel_path(root, str(link / "pkg" / "a.py")) == "pkg/a.py"
    assert rel_path(link, str(root / "pkg" / "a.py")) == "pkg/a.py"
    # a sibling whose name starts like the root is outside it
    assert rel_path(root, str(tmp_path / "ws2" / "b.py")) == str(tmp_path / "ws2" / "b.py")
    assert rel_path(root, "/usr/lib/python3/os.py") == "/usr/lib/python3/os.py"
