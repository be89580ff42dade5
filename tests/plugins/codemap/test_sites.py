"""How a file's reference sites are stored: grouped by name, long groups compressed."""

from __future__ import annotations

from aegisd_codemap.extract import extract_file
from aegisd_codemap.sites import COMPRESS_FROM, Ref, pack, unpack
from hypothesis import given
from hypothesis import strategies as st

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_REFS = st.lists(
    st.builds(
        Ref,
        line=st.integers(1, 10**6),
        column=st.integers(0, 10**4),
        name=st.sampled_from(["f", "Foo", "é_ünï"]),
        kind=st.sampled_from(["call", "read", "write"]),
        scope=_TEXT,
        binding=_TEXT,
    ),
    max_size=60,
)


@given(_REFS)
def test_packing_keeps_every_site_of_every_name(refs: list[Ref]) -> None:
    packed = pack(refs)
    assert [name for name, _ in packed] == sorted({r.name for r in refs})
    back = [ref for name, sites in packed for ref in unpack(name, sites)]
    # a tab or newline in a scope or binding (a file's own text) reads back as a space
    plain = [r._replace(scope=_spaced(r.scope), binding=_spaced(r.binding)) for r in refs]
    assert sorted(back) == sorted(plain)


def _spaced(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ")


def test_an_include_naming_a_tab_or_newline_keeps_its_file_readable() -> None:
    source = b'#include "we\tird.h"\n#include "odd\\\nname.h"\nint f(void) { return g(); }\n'
    extract = extract_file("x.c", source, False)
    sites = [ref for name, group in extract.refs or () for ref in unpack(name, group)]
    assert {r.name for r in sites if r.kind == "call"} == {"g"}


def test_a_long_group_is_stored_compressed_and_a_short_one_as_text() -> None:
    many = [Ref(n, 4, "helper", "call", "Service.handle", "g:helper") for n in range(1, 200)]
    packed = dict(pack([*many, Ref(3, 0, "x", "read", "", "g:x")]))
    assert isinstance(packed["x"], str)
    stored = packed["helper"]
    assert isinstance(stored, bytes)
    text_size = sum(len(f"{r.line}\t4\tcall\tService.handle\tg:helper\n") for r in many)
    assert text_size >= COMPRESS_FROM and len(stored) * 3 < text_size
    assert unpack("helper", stored) == many


def test_rows_stored_as_text_before_compression_are_still_read() -> None:
    old = "12\t5\tcall\tmain\tg:run\n30\t1\tread\t\ti:0:os:path"
    assert unpack("run", old) == [
        Ref(12, 5, "run", "call", "main", "g:run"),
        Ref(30, 1, "run", "read", "", "i:0:os:path"),
    ]
