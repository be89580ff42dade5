"""The code map's tables and their numbered migrations.

The database is the index: `codemap_file` holds one row per file (facts and graph inputs),
`codemap_symbol` one per definition with the columns search ranks by (`ranking`: in tests,
path length, kind, overload signature, lowercased name) and two indexes, one to find names,
one in rank order. `codemap_name` holds every distinct symbol name once with its words and
initials (`searchquery.words`), so that substring, word and subsequence candidates are found
among names, not symbols; `codemap_name_fts` (FTS5, trigram tokenizer) finds substrings of
three characters or more without a scan where this SQLite supports it (`has_trigram`); it
trails the names table up to a mark in `codemap_state` (upkeep: `namestore`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

import peewee

from aegisd.store.migrations import Migration
from aegisd.store.pathtext import from_db
from aegisd_codemap import sitestore
from aegisd_codemap.ranking import in_tests, is_stub, kind_rank
from aegisd_codemap.searchquery import words

PLUGIN = "aegisd_codemap"
NAME_FTS = "codemap_name_fts"


def has_trigram(execute: Any) -> bool:
    """Whether SQLite's FTS5 has the trigram tokenizer (3.34 and later, when FTS5 is built in)."""
    try:
        execute("CREATE VIRTUAL TABLE temp.codemap_probe USING fts5(x, tokenize='trigram')")
    except sqlite3.Error:
        return False
    execute("DROP TABLE temp.codemap_probe")
    return True


def name_row(name: str) -> tuple[str, str, str, str]:
    """(name, lowercased, words marked, initials): a `codemap_name` row."""
    marked, initials = words(name)
    return name, name.lower(), marked, initials


def rank_columns(path: str, name: str, kind: str, decorators: Iterable[str]) -> tuple[Any, ...]:
    """(lname, tests, plen, krank, stub): what a symbol is ranked by besides its match."""
    return name.lower(), int(in_tests(path)), len(path), kind_rank(kind), int(is_stub(decorators))


_RANKED = [
    "ALTER TABLE codemap_file ADD COLUMN symbols INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE codemap_file ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE codemap_symbol ADD COLUMN lname TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE codemap_symbol ADD COLUMN tests INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE codemap_symbol ADD COLUMN plen INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE codemap_symbol ADD COLUMN krank INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE codemap_symbol ADD COLUMN stub INTEGER NOT NULL DEFAULT 0",
    "DROP INDEX IF EXISTS codemap_symbol_lower_name",
    "CREATE TABLE codemap_name (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " lname TEXT NOT NULL, marked TEXT NOT NULL, initials TEXT NOT NULL)",
    # How far the trigram index has caught up with the names (`namestore`).
    "CREATE TABLE codemap_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
]
_FTS = (
    f"CREATE VIRTUAL TABLE {NAME_FTS} USING fts5(lname, marked, initials,"
    " content='codemap_name', content_rowid='id', tokenize='trigram case_sensitive 1')"
)
_INDEXES = [
    "CREATE INDEX codemap_symbol_lname ON codemap_symbol (workspace_id, lname)",
    # Rank order (rowid, the last tie-break, is implied): a tier with many candidates is read
    # in this order and stops at the answer's limit instead of sorting them all.
    "CREATE INDEX codemap_symbol_rank"
    " ON codemap_symbol (workspace_id, tests, plen, krank, stub, lname)",
]


def _disk_backed(db: peewee.SqliteDatabase) -> None:
    """Migration 4: rank columns and counts filled in for rows already stored (in Python, as
    new rows get them), the names table and its trigram index."""
    execute: Callable[..., Any] = db.execute_sql
    for statement in _RANKED:
        execute(statement)
    trigram = has_trigram(execute)
    if trigram:
        execute(_FTS)
    execute(
        "UPDATE codemap_file SET error_count = json_array_length(errors), symbols ="
        " (SELECT count(*) FROM codemap_symbol s WHERE s.workspace_id = codemap_file.workspace_id"
        " AND s.path = codemap_file.path)"
    )
    stored = execute("SELECT rowid, path, name, kind, decorators FROM codemap_symbol")
    updates = []
    names: set[str] = set()
    for rowid, path, name, kind, decorators in stored.fetchall():
        updates.append((*rank_columns(from_db(path), name, kind, json.loads(decorators)), rowid))
        names.add(name)
    cursor: Any = db.cursor()
    cursor.executemany(
        "UPDATE codemap_symbol SET lname = ?, tests = ?, plen = ?, krank = ?, stub = ?"
        " WHERE rowid = ?",
        updates,
    )
    add_names(cursor, [name_row(name) for name in names])
    if trigram:
        execute(
            f"INSERT INTO {NAME_FTS} (rowid, lname, marked, initials)"
            " SELECT id, lname, marked, initials FROM codemap_name"
        )
        execute(
            "INSERT INTO codemap_state (key, value)"
            " SELECT 'fts_mark', coalesce(max(id), 0) FROM codemap_name"
        )
    for statement in _INDEXES:
        execute(statement)


def add_names(cursor: Any, rows: Iterable[tuple[str, str, str, str]]) -> None:
    """Record names (`name_row`s) not yet in `codemap_name` (shared by every workspace)."""
    cursor.executemany(
        "INSERT OR IGNORE INTO codemap_name (name, lname, marked, initials) VALUES (?, ?, ?, ?)",
        rows,
    )


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
        ["CREATE INDEX codemap_symbol_lower_name ON codemap_symbol (workspace_id, lower(name))"],
    ),
    Migration(
        PLUGIN,
        3,
        "which extractor version wrote each file",
        # Rows from before (0) lack what newer extractors find, e.g. each import's context.
        ["ALTER TABLE codemap_file ADD COLUMN extractor INTEGER NOT NULL DEFAULT 0"],
    ),
    Migration(
        PLUGIN, 4, "search served from the store: rank columns, names, trigrams", _disk_backed
    ),
    Migration(
        PLUGIN,
        5,
        "reference sites and their bindings (navigation)",
        [
            # One row per name used in a file, its sites packed (`sites.pack`); replaced per
            # file with its symbols.
            "CREATE TABLE codemap_ref (workspace_id TEXT NOT NULL, path TEXT NOT NULL,"
            " name TEXT NOT NULL, sites TEXT NOT NULL)",
            # References of a symbol: its name's sites, filtered by binding.
            "CREATE INDEX codemap_ref_name ON codemap_ref (workspace_id, name)",
            # A position's site, a function's calls, a file's rows replaced.
            "CREATE INDEX codemap_ref_path ON codemap_ref (workspace_id, path)",
            "ALTER TABLE codemap_file ADD COLUMN exports TEXT",
            "ALTER TABLE codemap_file ADD COLUMN members TEXT",
        ],
    ),
    Migration(
        PLUGIN,
        6,
        "symbol names within their rank's first key (tests): each segment counted apart",
        [
            "CREATE INDEX codemap_symbol_tests_lname"
            " ON codemap_symbol (workspace_id, tests, lname)",
        ],
    ),
    Migration(
        PLUGIN,
        7,
        "reference sites keyed by integers: workspace, name and file ids (`sitestore`)",
        sitestore.migrate,
    ),
]
