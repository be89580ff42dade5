"""Loading the fixture files and projects in tests/fixtures/codemap."""

from __future__ import annotations

from pathlib import Path

from aegisd_codemap.extract import extract_file
from aegisd_codemap.model import FileExtract

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "codemap"


def load(relative: str, include_docstrings: bool = False) -> FileExtract:
    """Extract one fixture file, named relative to tests/fixtures/codemap."""
    return extract_file(Path(relative).name, (FIXTURES / relative).read_bytes(), include_docstrings)


def extract_project(name: str) -> dict[str, FileExtract]:
    """Every file of a fixture project, keyed by its path relative to the project root."""
    root = FIXTURES / name
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            relative = path.relative_to(root).as_posix()
            files[relative] = extract_file(relative, path.read_bytes(), False)
    return files
