"""The code map's tables: one row per file (facts and graph inputs), one per symbol.

Functions here run on the daemon's DB thread (through `store.run`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from sys import intern
from typing import Any

import peewee

from aegisd.store.jsonfield import dumps
from aegisd.store.migrations import Migration
from aegisd.store.pathtext import from_db, to_db
from aegisd.threads import step_aside
from aegisd_codemap.model import TOP_LEVEL, ClassInfo, FileExtract, ImportRef, Symbol, SyntaxIssue

PLUGIN = "aegisd_codemap"

MIGRATIONS = [
    Migration(
        PLUGIN,
        1,
        "files and symbols",
        [
            "CREATE TABLE codemap_file (workspace_id TEXT NOT NULL, path TEXT NOT NULL,"
            " hash TEXT NOT NULL, language TEXT, binary INTEGER NOT NULL, lines INTEGER NOT NULL,"
            " loc INTEGER NOT NULL, errors TEXT NOT NULL, imports TEXT NOT NULL,"
            " classes TEXT NOT NULL, default_export TEXT, stale INTEGER NOT NULL DEFAULT 0,"
            " PRIMARY KEY (workspace_id, path))",
            "CREATE TABLE codemap_symbol (workspace_id TEXT NOT NULL, path TEXT NOT NULL,"
            " seq INTEGER NOT NULL, name TEXT NOT NULL, qualname TEXT NOT NULL,"
            " kind TEXT NOT NULL, line INTEGER NOT NULL, end_line INTEGER NOT NULL,"
            " col INTEGER NOT NULL, parent TEXT, signature TEXT, decorators TEXT NOT NULL,"
            " docstring TEXT, loc INTEGER NOT NULL, complexity INTEGER NOT NULL,"
            " is_async INTEGER NOT NULL, exported INTEGER NOT NULL,"
            " PRIMARY KEY (workspace_id, path, seq))",
        ],
    ),
    Migration(
        PLUGIN,
        2,
        "symbol names by lowercase prefix",
        # What a search right after a restart reads first (storedsearch.prefix_rows).
        ["CREATE INDEX codemap_symbol_lower_name ON codemap_symbol (workspace_id, lower(name))"],
    ),
    Migration(
        PLUGIN,
        3,
        "which extractor version wrote each file",
        # Rows from before (0) lack what newer extractors find, e.g. each import's context.
        ["ALTER TABLE codemap_file ADD COLUMN extractor INTEGER NOT NULL DEFAULT 0"],
    ),
]

#: Bumped when extraction finds something new: a file stored by an older extractor is loaded
#: (answers need not wait) and parsed again at the next sync, as if its content had changed.
#: 1: each import's context (top_level, conditional, deferred).
EXTRACTOR_VERSION = 1

FILE_COLUMNS = (
    "path, hash, language, binary, lines, loc, errors, imports, classes, default_export, stale,"
    " extractor"
)
SYMBOL_COLUMNS = (
    "path, seq, name, qualname, kind, line, end_line, col, parent, signature, decorators,"
    " docstring, loc, complexity, is_async, exported"
)


Loaded = tuple[dict[str, FileExtract], dict[str, str], set[str]]


def load(db: peewee.SqliteDatabase, ws_id: str) -> Loaded:
    """Every stored file of a workspace: extracts, content hashes, and which are stale."""
    return _read(db.execute_sql, ws_id)


def load_stored(db_path: Path, ws_id: str) -> Loaded:
    """`load` through a read-only connection of its own, from any thread: a restart's load
    (0.5 s of object building on the stdlib) keeps the DB thread free, and in a `background`
    job it steps aside for the searches answered from the store meanwhile."""
    with closing(sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)) as db:
        return _read(db.execute, ws_id)


def _read(execute: Callable[[str, tuple[Any, ...]], Iterable[Any]], ws_id: str) -> Loaded:
    files: dict[str, FileExtract] = {}
    hashes: dict[str, str] = {}
    stale: set[str] = set()
    cursor = execute(f"SELECT {FILE_COLUMNS} FROM codemap_file WHERE workspace_id = ?", (ws_id,))
    for (
        stored_path,
        digest,
        language,
        binary,
        lines,
        loc,
        errors,
        imports,
        classes,
        default,
        is_stale,
        extractor,
    ) in cursor:
        path = from_db(stored_path)
        files[path] = FileExtract(
            path=path,
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
        )
        # An empty hash matches no content: the next sync parses the file again.
        hashes[path] = digest if extractor >= EXTRACTOR_VERSION else ""
        if is_stale:
            stale.add(path)
    cursor = execute(
        f"SELECT {SYMBOL_COLUMNS} FROM codemap_symbol WHERE workspace_id = ? ORDER BY path, seq",
        (ws_id,),
    )
    decorators: dict[str, tuple[str, ...]] = {}  # few distinct lists: parse each once
    extract = None
    current = None  # the stored path of the rows being read
    for row in cursor:
        if row[0] != current:
            step_aside()  # once per file: rows come ordered by path
            current = row[0]
            extract = files.get(from_db(current))
        if extract is None:
            continue
        raw_decorators = row[10]
        decorated = decorators.get(raw_decorators)
        if decorated is None:
            decorated = decorators[raw_decorators] = tuple(json.loads(raw_decorators))
        # Shared strings from the start (see index._share_strings): copies freed later would
        # leave the memory fragmented.
        name, parent, signature = intern(row[2]), row[8], row[9]
        extract.symbols.append(
            Symbol(
                name,
                name if row[3] == name else row[3],
                intern(row[4]),
                row[5],
                row[6],
                row[7],
                None if parent is None else intern(parent),
                None if signature is None else intern(signature),
                decorated,
                row[11],
                row[12],
                row[13],
                bool(row[14]),
                bool(row[15]),
            )
        )
    return files, hashes, stale


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


def rows(
    ws_id: str, updates: Iterable[tuple[FileExtract, str, bool]], removed: Iterable[str]
) -> Rows:
    """The rows replacing updated files (extract, hash, stale) and removing others."""
    prepared = Rows([(ws_id, to_db(path)) for path in removed], [], [])
    for extract, digest, stale in updates:
        step_aside()  # a cold index's 1,800 files: requests go first
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
                extract.default_export, int(stale), EXTRACTOR_VERSION,
            )
        )  # fmt: skip
        prepared.symbols.extend(
            (
                ws_id, path, seq, s.name, s.qualname, s.kind, s.line, s.end_line,
                s.column, s.parent, s.signature, dumps(s.decorators, "decorators"), s.docstring, s.loc,
                s.complexity, int(s.is_async), int(s.exported),
            )
            for seq, s in enumerate(extract.symbols)
        )  # fmt: skip
    return prepared


def write(db: peewee.SqliteDatabase, prepared: Rows) -> None:
    """Store `prepared` in one transaction."""
    with db.atomic():
        cursor = db.cursor()
        cursor.executemany(
            "DELETE FROM codemap_file WHERE workspace_id = ? AND path = ?", prepared.paths
        )
        cursor.executemany(
            "DELETE FROM codemap_symbol WHERE workspace_id = ? AND path = ?", prepared.paths
        )
        cursor.executemany(
            "INSERT INTO codemap_file VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            prepared.files,
        )
        cursor.executemany(
            "INSERT INTO codemap_symbol VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            prepared.symbols,
        )


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
