"""Reading and writing the code map's rows (tables: `schema`).

Writes run on the daemon's DB thread (through `store.run`); reads take an `Execute` and run
wherever their connection may (the DB thread, or a read-only connection of `readers`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from sys import intern
from typing import Any, NamedTuple, Protocol

import peewee

from aegisd.store.jsonfield import dumps
from aegisd.store.pathtext import from_db, in_list, to_db
from aegisd.threads import step_aside
from aegisd_codemap import namestore, schema, sitestore
from aegisd_codemap.model import TOP_LEVEL, ClassInfo, FileExtract, ImportRef, Symbol, SyntaxIssue
from aegisd_codemap.ranking import in_tests, is_stub, kind_rank, symbol_is_stub
from aegisd_codemap.schema import add_names, name_row

MIGRATIONS = schema.MIGRATIONS

#: Bumped when extraction finds something new: a file stored by an older extractor is loaded
#: (answers need not wait) and parsed again at the next sync, as if its content had changed.
#: 1: each import's context (top_level, conditional, deferred).
#: 2: TS type aliases, JS members assigned, object-literal methods and values built from code,
#: TS overload stubs, C++ headers named .h, C declarations behind macros.
#: 3: Python reference sites.
#: 4: C/C++ reference sites, includes, declarations and macros.
#: 5: JS/TS reference sites and exports.
#: 6: Python sites in the definition they sit in (a scope gone after the walk lent its id), a
#: classmethod's cls() calls, attributes set outside their class.
#: 7: JS/TS class fields and interface properties as symbols, interfaces with their bases;
#:    union, array-element, callback and ``this:`` parameter types in sites.
#: 8: C/C++ headers' attribute-like macros and the project set a recovery used (`cprojmacros`),
#: typedef names' own sites.
EXTRACTOR_VERSION = 8


def extractor_version(language: str | None) -> int:
    """The version a file of `language` is stored with. Python files are parsed with the
    running interpreter's `ast`, whose grammar moves with its minor release (3.12 parses
    `type X = ...`, 3.11 reports it as an error): theirs also counts that release, so a
    daemon started by another Python parses them again instead of keeping what the other
    one made of them."""
    if language == "python":
        return EXTRACTOR_VERSION * 1000 + sys.version_info.minor
    return EXTRACTOR_VERSION


def _current(extractor: int, language: str | None) -> bool:
    if language == "python":
        return extractor == extractor_version(language)
    return extractor >= EXTRACTOR_VERSION


FILE_COLUMNS = (
    "path, hash, language, binary, lines, loc, errors, imports, classes, default_export, stale,"
    " extractor, exports, members"
)
SYMBOL_COLUMNS = (
    "path, seq, name, qualname, kind, line, end_line, col, parent, signature, decorators,"
    " docstring, loc, complexity, is_async, exported"
)

#: what a symbol is read back from: its columns, and whether it is a stub (`Symbol.stub`)
_READ_COLUMNS = SYMBOL_COLUMNS + ", stub"


class Facts(NamedTuple):
    """What the index keeps in memory per file (a few dozen bytes): the rest is read from
    the store when asked for."""

    hash: str
    language: str | None
    symbols: int
    errors: int
    stale: bool


Execute = Callable[[str, tuple[Any, ...]], Iterable[Any]]
"""`peewee.SqliteDatabase.execute_sql` or `sqlite3.Connection.execute`."""


def load_facts(execute: Execute, ws_id: str) -> dict[str, Facts]:
    """Every stored file's facts: a warm start reads these alone (no symbol is read; ~3 ms
    per thousand files, and answers wait for them: no stepping aside)."""
    facts: dict[str, Facts] = {}
    cursor = execute(
        "SELECT path, hash, language, symbols, error_count, stale, extractor FROM codemap_file"
        " WHERE workspace_id = ?",
        (ws_id,),
    )
    for path, digest, language, symbols, errors, stale, extractor in cursor:
        # An empty hash matches no content: the next sync parses the file again.
        fresh = digest if _current(extractor, language) else ""
        language = None if language is None else intern(language)
        facts[from_db(path)] = Facts(fresh, language, symbols, errors, bool(stale))
    return facts


def _extract(row: tuple[Any, ...]) -> FileExtract:
    path, language, binary, lines, loc, errors, imports, classes, default, exports, members = row
    return FileExtract(
        path=from_db(path),
        language=language,
        binary=bool(binary),
        lines=lines,
        loc=loc,
        errors=[SyntaxIssue(*e) for e in json.loads(errors)],
        imports=[_import(i) for i in json.loads(imports)],
        classes=[
            ClassInfo(c[0], c[1], tuple(map(intern, c[2])), tuple(map(intern, c[3])))
            for c in json.loads(classes)
        ],
        default_export=default,
        exports=None if exports is None else tuple(json.loads(exports)),
        members=None if members is None else tuple(tuple(m) for m in json.loads(members)),
    )


_EXTRACT_COLUMNS = (
    "path, language, binary, lines, loc, errors, imports, classes, default_export, exports, members"
)


def read_extract(execute: Execute, ws_id: str, path: str) -> tuple[str, FileExtract] | None:
    """One stored file with its symbols, and the content hash it was stored for."""
    stored = to_db(path)
    found = list(
        execute(
            f"SELECT hash, {_EXTRACT_COLUMNS} FROM codemap_file"
            " WHERE workspace_id = ? AND path = ?",
            (ws_id, stored),
        )
    )
    if not found:
        return None
    digest, *row = found[0]
    extract = _extract(tuple(row))
    cursor = execute(
        f"SELECT {_READ_COLUMNS} FROM codemap_symbol WHERE workspace_id = ? AND path = ?"
        " ORDER BY seq",
        (ws_id, stored),
    )
    extract.symbols = [_symbol(row) for row in cursor]
    return digest, extract


def read_extracts(
    execute: Execute, ws_id: str, paths: list[str], chunk: int = 400
) -> Iterator[tuple[str, FileExtract]]:
    """Several stored files with their symbols (a few queries, not two per file), each with
    the content hash it was stored for."""
    for at in range(0, len(paths), chunk):
        stored = [to_db(p) for p in paths[at : at + chunk]]
        marks = ",".join("?" * len(stored))
        files = {}
        for digest, *row in execute(
            f"SELECT hash, {_EXTRACT_COLUMNS} FROM codemap_file"
            f" WHERE workspace_id = ? AND path IN ({marks})",
            (ws_id, *stored),
        ):
            files[row[0]] = (digest, _extract(tuple(row)))
        cursor = execute(
            f"SELECT {_READ_COLUMNS} FROM codemap_symbol WHERE workspace_id = ?"
            f" AND path IN ({marks}) ORDER BY path, seq",
            (ws_id, *stored),
        )
        for row in cursor:
            found = files.get(row[0])
            if found is not None:
                found[1].symbols.append(_symbol(row))
        yield from files.values()


#: a symbol as navigation resolves against it (`read_symbol_rows`)
NAV_SYMBOL_COLUMNS = "name, qualname, kind, line, end_line, col, parent, signature, is_async"
SymbolRow = tuple[str, str, str, int, int, int, str | None, str | None, int]
"""(name, qualname, kind, line, end_line, column, parent, signature, is_async)"""
_NAV_SYMBOLS = (
    f"SELECT {NAV_SYMBOL_COLUMNS} FROM codemap_symbol WHERE workspace_id = ? AND path = ?"
    " ORDER BY seq"
)


def read_symbol_rows(
    execute: Execute, ws_id: str, paths: list[str], chunk: int = 400
) -> Iterator[tuple[str, FileExtract, list[SymbolRow]]]:
    """Several stored files as name resolution reads them (`navresolve._names`), each with
    the content hash it was stored for: the outline's imports, bases, exports and members
    (no errors, no classes' instantiations) and the symbols as plain rows in source order, a
    few times cheaper than `read_extracts`' symbols. This is what a first question after a
    restart waits for: the symbols are read a file at a time, the rows kept as they come (a
    Python step per row, to group them by file, cost as much as the query)."""
    for at in range(0, len(paths), chunk):
        stored = [to_db(p) for p in paths[at : at + chunk]]
        marks = ",".join("?" * len(stored))
        found = list(
            execute(
                "SELECT hash, path, language, imports, classes, exports, members"
                f" FROM codemap_file WHERE workspace_id = ? AND path IN ({marks})",
                (ws_id, *stored),
            )
        )
        for digest, path, language, imports, classes, exports, members in found:
            extract = FileExtract(
                path=from_db(path),
                language=language,
                imports=[_import(i) for i in json.loads(imports)],
                classes=[
                    ClassInfo(c[0], c[1], tuple(map(intern, c[2])), ()) for c in json.loads(classes)
                ],
                exports=None if exports is None else tuple(json.loads(exports)),
                members=None if members is None else tuple(map(tuple, json.loads(members))),
            )
            symbols: list[SymbolRow] = list(execute(_NAV_SYMBOLS, (ws_id, path)))
            yield digest, extract, symbols


def read_outline(execute: Execute, ws_id: str, path: str) -> tuple[str, FileExtract] | None:
    """One stored file without its symbols, and the content hash it was stored for."""
    found = list(
        execute(
            f"SELECT hash, {_EXTRACT_COLUMNS} FROM codemap_file"
            " WHERE workspace_id = ? AND path = ?",
            (ws_id, to_db(path)),
        )
    )
    if not found:
        return None
    digest, *row = found[0]
    return digest, _extract(tuple(row))


def read_outlines(execute: Execute, ws_id: str) -> Iterator[FileExtract]:
    """Every stored file without its symbols (what the graphs are built from), by path."""
    cursor = execute(
        f"SELECT {_EXTRACT_COLUMNS} FROM codemap_file WHERE workspace_id = ?", (ws_id,)
    )
    for row in cursor:
        step_aside()
        yield _extract(row)


def read_outlines_of(
    execute: Execute, ws_id: str, paths: Collection[str]
) -> Iterator[tuple[str, FileExtract]]:
    """These stored files without their symbols, each with its content hash: seeks by path
    (for a batch of a pass that reads a large workspace a part at a time)."""
    where, args = in_list("path", [to_db(p) for p in paths])
    cursor = execute(
        f"SELECT hash, {_EXTRACT_COLUMNS} FROM codemap_file WHERE workspace_id = ? AND {where}",
        (ws_id, *args),
    )
    for digest, *row in cursor:
        step_aside()
        yield digest, _extract(tuple(row))


def read_hashed_outlines(execute: Execute, ws_id: str) -> Iterator[tuple[str, FileExtract]]:
    """`read_outlines`, each with the content hash it was stored for."""
    cursor = execute(
        f"SELECT hash, {_EXTRACT_COLUMNS} FROM codemap_file WHERE workspace_id = ?", (ws_id,)
    )
    for digest, *row in cursor:
        step_aside()
        yield digest, _extract(tuple(row))


def read_all(execute: Execute, ws_id: str) -> dict[str, FileExtract]:
    """Every stored file with its symbols: the whole index at once (a snapshot for a pass
    over everything; memory grows with the workspace)."""
    files = {extract.path: extract for extract in read_outlines(execute, ws_id)}
    cursor = execute(
        f"SELECT {_READ_COLUMNS} FROM codemap_symbol WHERE workspace_id = ? ORDER BY path, seq",
        (ws_id,),
    )
    extract = None
    current = None  # the stored path of the rows being read
    for row in cursor:
        if row[0] != current:
            step_aside()  # once per file: rows come ordered by path
            current = row[0]
            extract = files.get(from_db(current))
        if extract is not None:
            extract.symbols.append(_symbol(row))
    return files


class SymbolQuery(Protocol):
    """Which symbols a pass over the whole index reads: most passes want few of them (the
    complex functions, say), and reading every symbol of a large workspace costs gigabytes."""

    @property
    def sql(self) -> str:
        """A condition on `codemap_symbol`'s columns."""

    @property
    def args(self) -> tuple[Any, ...]:
        """The condition's parameters."""

    def __call__(self, symbol: Symbol) -> bool:
        """The same condition, on a symbol in memory."""


def read_symbols_where(
    execute: Execute, ws_id: str, query: SymbolQuery, paths: list[str] | None
) -> dict[str, list[Symbol]]:
    """The symbols `query` selects, by path, of these files (None: every file); files with
    none are absent."""
    where, args = "", list[str]()
    if paths is not None:
        listed, args = in_list("path", [to_db(p) for p in paths])
        where = f" AND {listed}"
    cursor = execute(
        f"SELECT {_READ_COLUMNS} FROM codemap_symbol WHERE workspace_id = ?{where}"
        f" AND ({query.sql}) ORDER BY path, seq",
        (ws_id, *args, *query.args),
    )
    found: dict[str, list[Symbol]] = {}
    current, symbols = None, []  # the stored path of the rows being read
    for n, row in enumerate(cursor):
        if row[0] != current:
            current = row[0]
            symbols = found.setdefault(from_db(current), [])
        if not n % 4096:
            step_aside()
        symbols.append(_symbol(row))
    return found


def _symbol(row: tuple[Any, ...]) -> Symbol:
    # Shared strings from the start: the same names and kinds repeat across files.
    name, parent, signature = intern(row[2]), row[8], row[9]
    decorators = _decorators(row[10])
    return Symbol(
        name,
        name if row[3] == name else row[3],
        intern(row[4]),
        row[5],
        row[6],
        row[7],
        None if parent is None else intern(parent),
        None if signature is None else intern(signature),
        decorators,
        row[11],
        row[12],
        row[13],
        bool(row[14]),
        bool(row[15]),
        # an @overload is told by its decorator, not by the flag
        bool(row[16]) and not (decorators and is_stub(decorators)),
    )


@lru_cache(maxsize=1024)
def _dumped_decorators(decorators: tuple[str, ...]) -> str:
    """Few distinct decorator lists: each written as JSON once (most symbols have none)."""
    return dumps(decorators, "decorators")


@lru_cache(maxsize=1024)
def _decorators(raw: str) -> tuple[str, ...]:
    """Few distinct decorator lists: each parsed once."""
    return tuple(json.loads(raw))


def _import(raw: list[Any]) -> ImportRef:
    module, names, level, line, kind, alias, *rest = raw  # no context before extractor 1
    # Interned as they are read (see index._share_graph_strings): no copies to free later.
    pairs = tuple((intern(imported), intern(local)) for imported, local in names)
    context = intern(rest[0]) if rest else TOP_LEVEL
    return ImportRef(intern(module), pairs, level, line, intern(kind), alias, context)


@dataclass
class Rows:
    """An update as table rows, built off the DB thread (`rows`) and written on it (`write`)."""

    paths: list[tuple[str, str]]  # (workspace, path) of every file replaced or removed
    files: list[tuple[Any, ...]]
    symbols: list[tuple[Any, ...]]
    #: (workspace, path) of the files whose reference sites are replaced (a stale file keeps
    #: those of its last good parse, like its symbols)
    ref_paths: list[tuple[str, str]] = field(default_factory=list)
    refs: list[tuple[Any, ...]] = field(default_factory=list)  # (workspace, path, name, sites)
    gone: list[str] = field(default_factory=list)  # the paths removed
    names: list[tuple[str, str, str, str]] = field(default_factory=list)  # `schema.name_row`s
    #: catch the names' trigram index up with this write (an edit), or leave that to a bulk
    #: catch-up after the batch (`namestore.catch_up`)
    index_names: bool = True


def rows(
    ws_id: str,
    updates: Iterable[tuple[FileExtract, str, bool]],
    removed: Iterable[str],
    *,
    index_names: bool = True,
) -> Rows:
    """The rows replacing updated files (extract, hash, stale) and removing others."""
    prepared = Rows([(ws_id, to_db(path)) for path in removed], [], [], index_names=index_names)
    prepared.ref_paths = list(prepared.paths)
    prepared.gone = [path for _, path in prepared.paths]
    names: set[str] = set()
    for extract, digest, stale in updates:
        step_aside()  # a cold index's thousands of files: requests go first
        path = to_db(extract.path)
        prepared.paths.append((ws_id, path))
        prepared.files.append(
            (
                ws_id, path, digest, extract.language, int(extract.binary),
                extract.lines, extract.loc,
                dumps([[e.message, e.line, e.column] for e in extract.errors], "errors"),
                dumps([[i.module, i.names, i.level, i.line, i.kind, i.alias, i.context]
                       for i in extract.imports], "imports"),
                dumps([[c.qualname, c.line, c.bases, c.instantiates] for c in extract.classes], "classes"),
                extract.default_export, int(stale), extractor_version(extract.language),
                None if extract.exports is None else dumps(list(extract.exports), "exports"),
                None if extract.members is None else dumps(list(extract.members), "members"),
                len(extract.symbols), len(extract.errors),
            )
        )  # fmt: skip
        if not stale:
            prepared.ref_paths.append((ws_id, path))
            prepared.refs.extend((ws_id, path, *ref) for ref in extract.refs or ())
        tests, plen = int(in_tests(extract.path)), len(extract.path)  # the file's, once
        prepared.symbols.extend(
            (
                ws_id, path, seq, s.name, s.qualname, s.kind, s.line, s.end_line,
                s.column, s.parent, s.signature, _dumped_decorators(tuple(s.decorators)), s.docstring, s.loc,
                s.complexity, int(s.is_async), int(s.exported),
                s.name.lower(), tests, plen, kind_rank(s.kind), int(symbol_is_stub(s)),
            )
            for seq, s in enumerate(extract.symbols)
        )  # fmt: skip
        names.update(s.name for s in extract.symbols)
    prepared.names = [name_row(name) for name in names]  # here, not on the DB thread
    return prepared


def write(db: peewee.SqliteDatabase, prepared: Rows) -> None:
    """Store `prepared` in one transaction; names no symbol carries any more go with it."""
    with db.atomic():
        cursor = db.cursor()
        before: set[str] = set()
        if prepared.paths:
            ws_id = prepared.paths[0][0]
            before = namestore.names_of(cursor, ws_id, [path for _, path in prepared.paths])
        cursor.executemany(
            "DELETE FROM codemap_file WHERE workspace_id = ? AND path = ?", prepared.paths
        )
        cursor.executemany(
            "DELETE FROM codemap_symbol WHERE workspace_id = ? AND path = ?", prepared.paths
        )
        cursor.executemany(
            f"INSERT INTO codemap_file (workspace_id, {FILE_COLUMNS}, symbols, error_count)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            prepared.files,
        )
        cursor.executemany(
            f"INSERT INTO codemap_symbol (workspace_id, {SYMBOL_COLUMNS}, lname, tests, plen, krank, stub)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            prepared.symbols,
        )
        if prepared.ref_paths:
            sitestore.replace(
                cursor,
                prepared.ref_paths[0][0],
                [path for _, path in prepared.ref_paths],
                prepared.gone,
                [row[1:] for row in prepared.refs],
            )
        add_names(cursor, prepared.names)
        namestore.drop_unused(cursor, before.difference(row[0] for row in prepared.names))
        if prepared.index_names:
            namestore.index_names(cursor, namestore.EDIT_CATCH_UP)


def save(
    db: peewee.SqliteDatabase,
    ws_id: str,
    updates: Iterable[tuple[FileExtract, str, bool]],
    removed: Iterable[str],
) -> None:
    """Replace the rows of updated files (extract, hash, stale) and delete removed ones."""
    write(db, rows(ws_id, updates, removed))


def clear(db: peewee.SqliteDatabase, ws_id: str) -> None:
    with db.atomic():
        db.execute_sql("DELETE FROM codemap_file WHERE workspace_id = ?", (ws_id,))
        db.execute_sql("DELETE FROM codemap_symbol WHERE workspace_id = ?", (ws_id,))
        sitestore.clear(db.cursor(), ws_id)
        namestore.sweep(db.cursor())


def load(db: peewee.SqliteDatabase, ws_id: str) -> dict[str, FileExtract]:
    """`read_all` on the DB thread."""
    execute: Execute = db.execute_sql
    return read_all(execute, ws_id)
