"""Every binder's stored output stays byte-identical: the packed sites, ``__all__``/exports and
attribute values of each source file under tests/fixtures, against a golden file recorded with
the code before the binders were made faster (regenerate only for an intended change:
``python3 tests/plugins/codemap/test_bind_golden.py``). A fixture edited since is left out of
the comparison (its source hash differs), a fixture added since is not in it."""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

from aegisd_codemap.extract import extract_file
from aegisd_codemap.languages import detect_language

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GOLDEN = Path(__file__).resolve().parent / "bind_golden.json"


def _sources() -> list[Path]:
    return sorted(
        p for p in FIXTURES.rglob("*") if p.is_file() and detect_language(p.name) is not None
    )


def _stored(path: Path) -> dict[str, Any]:
    """What the binders hand to the store for one file, as JSON (a compressed group: its
    compressed bytes' hex, so equal means byte-identical)."""
    rel = path.relative_to(FIXTURES).as_posix()
    extract = extract_file(rel, path.read_bytes(), False, str(FIXTURES))
    refs = [
        [
            name,
            sites
            if isinstance(sites, str)
            else {"z": zlib.decompress(sites).decode(), "hex": sites.hex()},
        ]
        for name, sites in extract.refs or []
    ]
    members = None if extract.members is None else [list(m) for m in extract.members]
    exports = extract.exports
    return {
        "source": hashlib.sha1(path.read_bytes()).hexdigest(),
        "refs": refs,
        "exports": None
        if exports is None
        else list(exports)
        if not isinstance(exports, dict)
        else exports,
        "members": members,
    }


def _record() -> dict[str, Any]:
    return {p.relative_to(FIXTURES).as_posix(): _stored(p) for p in _sources()}


def test_binders_output_is_byte_identical_to_the_golden_file() -> None:
    golden = json.loads(GOLDEN.read_text())
    unchanged = [
        rel
        for rel, stored in golden.items()
        if (FIXTURES / rel).is_file()
        and hashlib.sha1((FIXTURES / rel).read_bytes()).hexdigest() == stored["source"]
    ]
    assert len(unchanged) >= 0.8 * len(golden), "fixtures edited since: regenerate the golden file"
    now = json.loads(json.dumps({rel: _stored(FIXTURES / rel) for rel in unchanged}))
    changed = [rel for rel in unchanged if now[rel] != golden[rel]]
    assert not changed, f"binder output changed for {changed[:10]}"


def test_the_golden_file_covers_every_binder() -> None:
    golden = json.loads(GOLDEN.read_text())
    languages = {detect_language(path) for path, stored in golden.items() if stored["refs"]}
    assert {"python", "javascript", "typescript", "c", "cpp"} <= languages


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(_record(), indent=0, sort_keys=True) + "\n")
