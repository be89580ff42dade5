"""bench/definitions.py on the language-gaps fixture: the code map's side, and ctags' when
universal-ctags is installed."""

from __future__ import annotations

import shutil

import definitions
import pytest

from tests.conftest import REPO

GAPS = REPO / "tests/fixtures/codemap/gaps"


def test_the_code_maps_side_counts_names_kinds_and_errors() -> None:
    found, kinds, errors, _ = definitions.ours(GAPS)
    assert errors == 0
    assert "ObservableInput" in found["web/types.ts"] and kinds["type"] == 2
    assert "UnicodeString" in found["include/unistr.h"]


@pytest.mark.skipif(shutil.which("ctags") is None, reason="universal-ctags is not installed")
def test_ctags_definitions_are_found(capsys: pytest.CaptureFixture[str]) -> None:
    found, *_ = definitions.ours(GAPS)
    wanted = definitions.ctags(GAPS, h_cpp=True)
    assert ("src/xmlparse.c", "function", "XML_Parse") in wanted
    definitions.table("ctags", found, [w for w in wanted if w[0] == "src/xmlparse.c"])
    assert "ctags function              3 /      3" in capsys.readouterr().out
