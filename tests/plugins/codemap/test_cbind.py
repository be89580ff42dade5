"""C/C++ name binding of one file (`cbind`) and the shapes of its bindings."""

from __future__ import annotations

from aegisd_codemap.cextract import extract_c
from aegisd_codemap.cresolve import candidates
from aegisd_codemap.languages import nonblank_prefix
from aegisd_codemap.sites import unpack

SOURCE = b"""#include "shapes.h"
#include <vector>
#define LIMIT 10
namespace geo {
namespace detail { int helper(int v); }
using namespace detail;
class Circle : public Shape {
 public:
  double area() const;
  int r;
};
double Circle::area() const { this->r = LIMIT; return helper(r); }
}
int run(geo::Circle& c, int (*cb)(int)) {
  int local = 1;
  return c.area() + cb(local) + ::run(c, cb);
}
"""


def _sites(source: bytes, language: str = "cpp") -> list[tuple[int, int, str, str, str, str]]:
    found = extract_c(source, language, nonblank_prefix(source), False)
    assert found.refs is not None
    return sorted(tuple(r) for name, sites in found.refs for r in unpack(name, sites))  # type: ignore[misc]


def test_sites_scopes_and_bindings() -> None:
    sites = _sites(SOURCE)
    assert (1, 11, "shapes.h", "import", "", 'x:"shapes.h') in sites
    assert (2, 11, "vector", "import", "", "x:<vector") in sites
    # a prototype is a write site; a class's base an inherit site seen from its namespace
    assert (5, 24, "helper", "write", "geo.detail", "n:geo.detail:helper") in sites
    assert (7, 23, "Shape", "inherit", "geo", "n:geo;geo|detail:Shape") in sites
    # an out-of-class method's body is in its class: this->, the class scope, using namespace
    assert (12, 37, "r", "write", "geo.Circle.area", "q:geo.Circle>r") in sites
    assert (12, 41, "LIMIT", "read", "geo.Circle.area", "n:geo.Circle;geo|detail:LIMIT") in sites
    assert (12, 55, "helper", "call", "geo.Circle.area", "n:geo.Circle;geo|detail:helper") in sites
    # a parameter's declared type; a call through a function pointer; the global scope
    assert (16, 12, "area", "call", "run", "n::geo.Circle>area") in sites
    assert (16, 21, "cb", "call", "run", "u") in sites
    assert (16, 35, "run", "call", "run", "n::run") in sites
    # definitions' own names are marked; locals are no sites
    assert (12, 16, "area", "write", "geo", "d:geo.Circle.area") in sites
    assert not [s for s in sites if s[2] == "local"]


def test_declarations_includes_and_macros() -> None:
    found = extract_c(SOURCE, "cpp", nonblank_prefix(SOURCE), False)
    assert found.declared == ("geo.detail.helper\t5\t24", "geo.Circle.area\t9\t10")
    assert [(i.module, i.kind) for i in found.imports] == [
        ("shapes.h", "include"),
        ("vector", "system"),
    ]
    assert ("LIMIT", "macro") in [(s.qualname, s.kind) for s in found.symbols]
    guarded = b"#ifndef X_H\n#define X_H\n#define ON 1\n#endif\n"
    macros = extract_c(guarded, "c", nonblank_prefix(guarded), False).symbols
    assert [s.name for s in macros] == ["ON"]  # an include guard is no symbol


def test_lookup_candidates_innermost_first() -> None:
    assert candidates("geo.Circle", ["geo|detail"], "helper") == [
        "geo.Circle.helper", "geo.helper", "helper", "geo.detail.helper", "detail.helper",
    ]  # fmt: skip


def test_a_typedef_names_its_own_site_and_uses_its_parameter_types() -> None:
    # found by bench/navigation_c.py on Pillow: references from a typedef's name found none
    source = (
        b"typedef struct Table Table;\n"
        b"typedef void (*IteratorFunc)(const Table *, int);\n"
        b"typedef int HeapCmp, *PHeap;\n"
        b"namespace n { using Alias = Table; }\n"
    )
    sites = [
        (line, column, name, kind, binding)
        for line, column, name, kind, _, binding in _sites(source)
    ]
    assert sites == [
        (1, 16, "Table", "type", "n::Table"),
        (1, 22, "Table", "write", "d:Table"),
        (2, 16, "IteratorFunc", "write", "d:IteratorFunc"),
        (2, 36, "Table", "type", "n::Table"),  # a parameter of the function-pointer type
        (3, 13, "HeapCmp", "write", "d:HeapCmp"),
        (3, 23, "PHeap", "write", "d:PHeap"),
        (4, 21, "Alias", "write", "d:n.Alias"),
        (4, 29, "Table", "type", "n:n:Table"),
    ]
