"""The definitions the JS/TS and C/C++ extractors used to miss or get wrong (issue 18's
language gaps), on fixtures shaped like the real cases (tests/fixtures/codemap/gaps)."""

from __future__ import annotations

from aegisd_codemap.dialect import header_language, looks_cpp
from aegisd_codemap.extract import extract_file
from aegisd_codemap.model import FileExtract
from aegisd_codemap.ranking import kind_rank, symbol_is_stub

from tests.plugins.codemap.helpers import FIXTURES

GAPS = FIXTURES / "gaps"


def gap(relative: str, with_root: bool = True) -> FileExtract:
    data = (GAPS / relative).read_bytes()
    return extract_file(relative, data, False, str(GAPS) if with_root else None)


def rows(result: FileExtract) -> list[tuple[str, str, int, str | None]]:
    return [(s.qualname, s.kind, s.line, s.parent) for s in result.symbols]


def test_ts_type_aliases_are_indexed() -> None:
    result = gap("web/types.ts")
    aliases = [(s.qualname, s.line, s.exported) for s in result.symbols if s.kind == "type"]
    assert aliases == [("ObservableInput", 2, True), ("Cons", 3, False)]


def test_ts_overload_signatures_are_stubs_of_their_implementation() -> None:
    overloads = [(s.line, s.stub) for s in gap("web/types.ts").symbols if s.name == "of"]
    assert overloads == [(5, True), (6, True), (7, False)]
    # a declaration without an implementation beside it is no stub
    alone = extract_file("d.ts", b"export function lonely(a: string): void;\n", False)
    assert [(s.name, s.stub) for s in alone.symbols] == [("lonely", False)]


def test_ts_values_in_parentheses_and_casts_are_what_they_wrap() -> None:
    found = {s.qualname: (s.kind, s.signature) for s in gap("web/types.ts").symbols}
    assert found["identity"] == ("function", "<T>(x: T): T")
    assert found["noop"] == ("function", "()")


def test_ts_type_parameter_variance_does_not_break_the_parse() -> None:
    result = gap("web/types.ts")
    assert result.errors == []
    assert ("Subscribable.subscribe", "method", 15, "Subscribable") in rows(result)


def test_ts_grammar_gaps_are_recovered_not_reported() -> None:
    result = gap("web/signatures.ts")  # consecutive call signatures, <in out T>, <const T>
    assert result.errors == []
    assert [(s.qualname, s.line) for s in result.symbols] == [
        ("Fn", 1),
        ("Fn.name", 5),
        ("after", 7),
        ("K", 8),
        ("K.m", 9),
        ("g", 11),
        ("last", 12),
    ]  # fmt: skip  (Fn.name: an interface's property)


def test_js_members_assigned_object_literal_methods_and_values_built_from_code() -> None:
    result = gap("web/application.js")
    assert result.errors == []
    assert [(s.qualname, s.kind, s.line, s.parent, s.exported) for s in result.symbols] == [
        ("app.init", "method", 6, "app", False),
        ("app.use", "method", 10, "app", False),
        ("Router.route", "method", 17, "Router", False),
        ("Layer.match", "method", 22, "Layer", False),
        ("Layer.handle", "method", 23, "Layer", False),
        ("json", "function", 26, None, True),
        ("proto", "constant", 28, None, False),
        ("proto.get", "method", 29, "proto", False),
        ("proto.set", "method", 30, "proto", False),
        ("View", "constant", 33, None, False),
    ]  # `settings` is plain data: no symbol
    by_name = {s.qualname: s for s in result.symbols}
    assert by_name["app.use"].signature == "(fn)" and by_name["app.use"].complexity == 2
    assert by_name["View"].complexity == 2  # the ternary in the function it is built from


def test_js_module_exports_this_members_and_named_callbacks() -> None:
    source = b"""\
module.exports = { parse() {}, format: function () {} };
function Emitter() { this.emit = function () {}; }
class Queue { constructor() { this.drain = () => 1; } }
const handler = useCallback;
function outer() { const local = memo(() => 1); }
emitter.on("mount", function onmount(parent) {});
res.contentType = res.type = function contentType(type) {};
function wrap() { return function proxy() {}; }
"""
    result = extract_file("lib.js", source, False)
    assert [(s.qualname, s.kind, s.exported) for s in result.symbols] == [
        ("parse", "function", True),
        ("format", "function", True),
        ("Emitter", "function", False),
        ("Emitter.emit", "method", False),
        ("Queue", "class", False),
        ("Queue.constructor", "method", False),
        ("Queue.drain", "method", False),
        ("outer", "function", False),
        ("onmount", "function", False),
        ("res.type", "method", False),
        ("wrap", "function", False),
        ("wrap.proxy", "function", False),
    ]  # values built inside functions are locals, not symbols; named callbacks are functions


def test_a_cpp_header_named_h_is_parsed_as_cpp_by_its_content() -> None:
    result = gap("include/unistr.h")
    assert (result.language, result.errors) == ("cpp", [])
    assert rows(result) == [
        ("UnicodeString", "class", 9, None),
        ("UnicodeString.UnicodeString", "method", 12, "UnicodeString"),
        ("UnicodeString.length", "method", 13, "UnicodeString"),
        ("UnicodeString.isBogus", "method", 14, "UnicodeString"),
        (
            "UnicodeString.operator std::basic_string<char16_t, std::char_traits<char16_t> >",
            "method",
            15,
            "UnicodeString",
        ),
        ("Box", "class", 22, None),
        ("Box.get", "method", 24, "Box"),
        ("Box.get", "method", 28, "Box"),  # out of class: Box<T>::get
        ("UnicodeString.length", "method", 31, "UnicodeString"),  # the name's line
    ]


def test_scope_names_keep_their_template_arguments_whole() -> None:
    source = b"""\
template <>
void Map<std::string, ns::Key>::put(const std::string &k) {}
namespace outer::inner {
int Table<std::pair<a::B, c::D>>::size() const { return 0; }
}
"""
    result = extract_file("map.cpp", source, False)
    assert [(s.qualname, s.kind, s.line) for s in result.symbols] == [
        ("Map.put", "method", 2),
        ("outer.inner", "namespace", 3),
        ("outer.inner.Table.size", "method", 4),
    ]


def test_an_anonymous_enum_with_a_base_type_is_no_symbol() -> None:
    source = b"class SUnit {\n  enum : unsigned { BoundaryID = ~0u };\n  int size() const;\n};\n"
    result = extract_file("ScheduleDAG.h", source, False)  # C++ by its content
    assert [(s.qualname, s.kind) for s in result.symbols] == [
        ("SUnit", "class"),
        ("SUnit.size", "method"),
    ]


def test_a_cpp_method_declared_in_its_class_is_a_stub_of_its_definition_beside_it() -> None:
    stubs = [(s.qualname, s.line) for s in gap("include/unistr.h").symbols if s.stub]
    assert stubs == [("UnicodeString.length", 13), ("Box.get", 24)]  # not the constructor


def test_a_header_is_cpp_by_a_sibling_and_c_otherwise() -> None:
    assert gap("src/engine.h").language == "cpp"  # engine.cpp beside it
    assert gap("src/engine.h", with_root=False).language == "c"
    assert header_language(b"int f(void);\n", str(GAPS), "src/nothing_beside.h") == "c"


def test_a_c_header_keeps_c_and_its_cplusplus_branches_are_not_parsed() -> None:
    result = gap("include/utypes.h")
    assert (result.language, result.errors) == ("c", [])
    typedefs = [row for row in rows(result) if row[1] != "macro"]  # macros are symbols too
    assert typedefs == [("int16_t", "typedef", 8, None), ("UBool", "typedef", 9, None)]


def test_cpp_constructs_only_count_where_a_c_compiler_looks() -> None:
    guarded = b'#ifdef __cplusplus\nextern "C" {\ntemplate <class T> T f();\n#endif\nint g(void);\n'
    negated = b"#ifndef __cplusplus\nint h(void);\n#else\nnamespace n {}\n#endif\n"
    in_macro = b"#define NULLISH \\\n  nullptr\n// std::vector in a comment\nint x;\n"
    assert not any(map(looks_cpp, [guarded, negated, in_macro]))
    assert looks_cpp(b"namespace n {\n}\n") and looks_cpp(b"int A::f() { return 1; }\n")


def test_macros_in_declaration_position_are_recovered() -> None:
    result = gap("src/xmlparse.c")
    assert result.errors == []
    assert ("FORCE_INLINE", "macro") in [(s.name, s.kind) for s in result.symbols]
    assert [(s.name, s.line, s.signature) for s in result.symbols if s.kind != "macro"] == [
        (
            "XML_Parse",
            7,
            "(XML_Parser parser, const char *s, int len, int isFinal) -> enum XML_Status",
        ),
        ("hash_of", 14, "(const char *s) -> int"),
        ("after_macros", 22, "(void) -> int"),
    ]


def test_an_all_caps_class_behind_an_export_macro_is_kept() -> None:
    source = b"""\
U_NAMESPACE_BEGIN
class U_COMMON_API IDNA : public UObject {
public:
    virtual ~IDNA();
    static IDNA *createUTS46Instance(uint32_t options, UErrorCode &errorCode);
};
class U_COMMON_API RuleBasedBreakIterator /*U_FINAL*/ : public BreakIterator {
};
U_NAMESPACE_END
"""
    result = extract_file("idna.h", source, False)
    assert result.errors == []
    assert [(s.qualname, s.kind) for s in result.symbols] == [
        ("IDNA", "class"),
        ("IDNA.~IDNA", "method"),
        ("IDNA.createUTS46Instance", "method"),
        ("RuleBasedBreakIterator", "class"),
    ]


def test_no_symbol_is_named_after_a_keyword_or_a_macro() -> None:
    source = b"""\
static int acquire(Lock *self) {
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        status = sem_wait(&self->sem);
        if (status == -1) {
            err = errno;
        }
        Py_END_ALLOW_THREADS
        if (status == 0) {
            return 1;
        }
    }
}
static BASE64_FORCE_INLINE __m256i
after(const __m256i in) { return in; }
"""
    result = extract_file("lock.c", source, False)
    names = [s.name for s in result.symbols]
    assert "if" not in names and "BASE64_FORCE_INLINE" not in names
    assert names[0] == "acquire" and names[-1] == "after"
    assert (result.symbols[-1].line, result.symbols[-1].signature) == (
        15,
        "(const __m256i in) -> __m256i",
    )


def test_new_kinds_rank_and_stubs_rank_after_implementations() -> None:
    ranks = [kind_rank(k) for k in ("class", "type", "function", "method", "constant", "variable")]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert kind_rank("variable") < kind_rank("no such kind")
    signature, implementation = (s for s in gap("web/types.ts").symbols if s.line in (6, 7))
    assert symbol_is_stub(signature) and not symbol_is_stub(implementation)
