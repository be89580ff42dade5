"""The process-pool entry point: one file's bytes in, a picklable ``FileExtract`` out."""

from __future__ import annotations

from aegisd_codemap.cextract import extract_c
from aegisd_codemap.cmacros import NO_MACROS, MacroSet
from aegisd_codemap.dialect import header_language, is_c_header, is_header
from aegisd_codemap.jsbind import bind_js
from aegisd_codemap.jsextract import extract_js
from aegisd_codemap.languages import detect_language, is_binary, nonblank_prefix
from aegisd_codemap.model import FileExtract
from aegisd_codemap.pybind import binding_enabled
from aegisd_codemap.pyextract import extract_python
from aegisd_codemap.sites import pack


def extract_file(
    path_rel: str,
    data: bytes,
    include_docstrings: bool,
    root: str | None = None,
    macros: MacroSet = NO_MACROS,
) -> FileExtract:
    """Outline, imports, classes and syntax errors of the file at ``path_rel`` holding ``data``.

    A header named ``.h`` is parsed, and its ``language`` said, as ``cpp`` when its content or
    a sibling under ``root`` says C++ (see `dialect`). A C/C++ parse broken by macros is
    recovered with the project's attribute-like ``macros`` too (`cmacros`).

    Unknown extensions give ``language=None`` and binary files ``binary=True``, both without
    symbols. Files that fail to parse carry ``errors``; tree-sitter languages keep the symbols
    found around the error, Python (all or nothing in ``ast``) has none.
    """
    language = detect_language(path_rel)
    result = FileExtract(path=path_rel, language=language)
    if is_binary(data):
        result.binary = True
        return result
    if language == "c" and is_header(path_rel):
        language = result.language = header_language(data, root, path_rel)
    nonblank = nonblank_prefix(data)
    result.lines = len(nonblank) - 1
    result.loc = nonblank[-1]
    if language == "python":
        py = extract_python(data, nonblank, include_docstrings)
        result.symbols, result.imports, result.classes, result.errors = py[:4]
        result.refs, result.exports, result.members = py.refs, py.exports, py.members
    elif language in ("javascript", "typescript", "tsx"):
        js = extract_js(data, language, nonblank, include_docstrings)
        result.symbols, result.imports, result.classes = js.symbols, js.imports, js.classes
        result.errors, result.default_export = js.errors, js.default_export
        if js.root is not None and binding_enabled():
            bound = bind_js(js.root, data, js.defined)
            result.refs, result.exports, result.members = pack(bound.refs), *bound[1:]
    elif language in ("c", "cpp"):
        c = extract_c(data, language, nonblank, include_docstrings, macros, is_c_header(path_rel))
        result.symbols, result.errors, result.refs, result.imports = c[:4]
        result.exports, result.classes = c.declared, c.classes
    return result
