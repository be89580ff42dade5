"""Which roots are trusted: stored decisions (nearest wins), then config patterns, else none."""

from pathlib import Path

import pytest

from aegisd.config import ConfigError, load_config
from aegisd.trust import Trust, covers, decide


@pytest.mark.parametrize(
    ("pattern", "root", "covered"),
    [
        ("/src/**", "/src", True),
        ("/src/**", "/src/a", True),
        ("/src/**", "/src/a/b/c", True),
        ("/src/**", "/srcx/a", False),
        ("/src/*", "/src/a", True),
        ("/src/*", "/src/a/deeper", True),  # what is under a trusted root is trusted
        ("/src/*", "/src", False),
        ("/src/*/lib", "/src/a/lib", True),
        ("/src/*/lib", "/src/a/b/lib", False),
        ("/src/**/lib", "/src/a/b/lib/x", True),
        ("/src/proj-[ab]", "/src/proj-a", True),
        ("/src/proj-[!ab]", "/src/proj-a", False),
        ("/src/proj-?", "/src/proj-c", True),
        ("/src/exact", "/src/exact", True),
        ("/src/exact", "/src/exactly", False),
        ("/src/a.b", "/src/axb", False),  # no regex leaks through
    ],
)
def test_patterns(pattern: str, root: str, covered: bool) -> None:
    assert covers(pattern, Path(root)) is covered


def test_a_pattern_resolves_symlinks_in_its_literal_part(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "proj").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    assert covers(f"{tmp_path}/link/*", real / "proj")


def test_home_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert covers("~/src/**", tmp_path.resolve() / "src" / "p")


def test_the_nearest_stored_decision_wins_then_patterns() -> None:
    root = Path("/home/u/src/sketchy/sub")
    patterns = ["/home/u/src/**"]
    assert decide(root, {}, patterns) == Trust(True, "config", "/home/u/src/**")
    revoked = {"/home/u/src/sketchy": False}
    assert decide(root, revoked, patterns) == Trust(False, "store", "/home/u/src/sketchy")
    both = {**revoked, "/home/u/src/sketchy/sub": True}
    assert decide(root, both, patterns).trusted
    assert decide(root, {}, []) == Trust(False, "default")
    assert decide(Path("/home/u/src"), revoked, []) == Trust(False, "default")


def test_config_patterns_must_be_absolute(tmp_path: Path) -> None:
    config = tmp_path / "aegisd.toml"
    config.write_text('[trust]\nroots = ["src/**"]\n')
    with pytest.raises(ConfigError, match=r"trust\.roots"):
        load_config(config_file=config, environ={})
    config.write_text('[trust]\nroots = ["~/src/**", "/opt/work/*"]\n')
    assert load_config(config_file=config, environ={}).trust.roots == ["~/src/**", "/opt/work/*"]
    env = {"AEGISD_TRUST__ROOTS": "/a/**,/b"}
    assert load_config(environ=env).trust.roots == ["/a/**", "/b"]
